import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeregisterTaskDefinitionCommand, DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TailEvent, TailEventSchema } from '../../cli/events.js';
import type { ReleaseRecord } from '../../cli/release-history.js';
import { main } from '../../cli/stepdeploy.js';
import {
  DEMO_ENVIRONMENTS,
  DEMO_SERVICES,
  iamDenials,
  releaseNameAt,
  type SampleAws,
  startSampleAws,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { Capture, runBin } from './tail-deploy-world.js';

let aws: SampleAws;

beforeEach(async () => {
  aws = await startSampleAws({ timeScale: 100 });
}, 60_000);

afterEach(async () => {
  const denied = aws ? await iamDenials(aws.endpoint) : [];
  await aws?.stop();
  expect(denied, 'calls the local AWS denied').toEqual([]);
}, 60_000);

/** `stepdeploy <args>` against the sample stack, as a user with STEPDEPLOY_STATE_MACHINE set types it. */
async function stepdeploy(args: string[]): Promise<{ exitCode: number; stdout: Capture; stderr: Capture }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const exitCode = await main([...args, '--endpoint-url', aws.endpoint], {
    stdout,
    stderr,
    env: { STEPDEPLOY_STATE_MACHINE: aws.stateMachineArn },
    interrupts: () => () => undefined,
  });
  return { exitCode, stdout, stderr };
}

const events = (stdout: Capture): TailEvent[] =>
  stdout.lines.map((line) => TailEventSchema.parse(JSON.parse(line)));
const records = (stdout: Capture): ReleaseRecord[] => stdout.lines.map((line) => JSON.parse(line));

/** `family:revision` of every service's PRIMARY task set, by `environment/service`. */
async function running(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    DEMO_ENVIRONMENTS.map(async (environment) => {
      const { services } = await aws.clients.ecs.send(
        new DescribeServicesCommand({
          cluster: `stepdeploy-demo-${environment}`,
          services: [...DEMO_SERVICES],
        }),
      );
      return (services ?? []).map((service): [string, string] => {
        const primary = service.taskSets?.find((set) => set.status === 'PRIMARY')?.taskDefinition ?? '';
        return [`${environment}/${service.serviceName}`, primary.slice(primary.lastIndexOf('/') + 1)];
      });
    }),
  );
  return Object.fromEntries(entries.flat());
}

describe('stepdeploy on the sample stack', () => {
  it('releases twice, lists the history, rolls back to the first release and shows it rolled back', async () => {
    // Prepare
    const first = releaseNameAt(new Date(), 'cli-one');
    const second = releaseNameAt(new Date(), 'cli-two');

    // Act: two releases, as typed.
    const one = await stepdeploy(['release', first, '--image', `app=stepdeploy-demo/app:${first}`, '--json']);
    const afterFirst = await running();
    const two = await stepdeploy([
      'release',
      second,
      '--image',
      `app=stepdeploy-demo/app:${second}`,
      '--json',
    ]);
    const before = await stepdeploy(['history', '--json']);

    // Assess
    expect(one.exitCode, one.stderr.text).toBe(0);
    expect(two.exitCode, two.stderr.text).toBe(0);
    expect(records(before.stdout).map((record) => [record.release, record.outcome])).toEqual([
      [second, 'succeeded'],
      [first, 'succeeded'],
    ]);
    expect(records(before.stdout)[0]).toMatchObject({
      environments: ['us', 'eu', 'au'],
      images: { app: `stepdeploy-demo/app:${second}` },
    });

    // Act: roll back, to the release before the current one by default.
    const back = await stepdeploy(['rollback', '--json']);

    // Assess: every service runs the first release's revisions again, and no task ran.
    expect(back.exitCode, back.stderr.text).toBe(0);
    expect(back.stderr.text).toContain(
      `rolling back to ${first}, the last release that succeeded before the current one`,
    );
    const followed = events(back.stdout);
    expect(followed.at(-1)).toMatchObject({
      type: 'summary',
      release: `rollback-to-${first}`,
      rollbackTo: first,
      status: 'SUCCEEDED',
      tasks: [],
    });
    expect(followed.filter((event) => event.type === 'task-started')).toEqual([]);
    expect(await running()).toEqual(afterFirst);
    const announced = (await (await fetch(`${aws.endpoint}/_local/events`)).json()) as {
      events: Array<{ source: string; 'detail-type': string; detail: Record<string, unknown> }>;
    };
    const rollbackAnnouncement = announced.events.filter(
      (event) => event.source === 'stepdeploy' && event.detail.release === `rollback-to-${first}`,
    );
    expect(rollbackAnnouncement).toEqual([
      expect.objectContaining({
        'detail-type': 'Release Succeeded',
        detail: expect.objectContaining({
          rollbackTo: first,
          summary: `Release rollback-to-${first} (rollback to release ${first}) succeeded: us, eu, au run release ${first}'s task definitions again.`,
        }),
      }),
    ]);

    // Act: the history afterwards, for people.
    const after = await stepdeploy(['history']);
    const json = await stepdeploy(['history', '--json']);

    // Assess
    expect(after.exitCode).toBe(0);
    expect(after.stdout.lines[0]).toMatch(
      /^RELEASE\s+OUTCOME\s+STARTED\s+DURATION\s+ENVIRONMENTS\s+IMAGES\s+ROLLED BACK$/,
    );
    expect(after.stdout.lines[1]).toMatch(
      new RegExp(`^rollback-to-${first}\\s+rollback to ${first}: succeeded\\s+.*\\(${first}'s\\)\\s+-$`),
    );
    expect(after.stdout.lines[2]).toMatch(
      new RegExp(`^${second}\\s+succeeded\\s+.*by rollback-to-${first}$`),
    );
    expect(records(json.stdout).map((record) => [record.release, record.rolledBackBy])).toEqual([
      [`rollback-to-${first}`, undefined],
      [second, `rollback-to-${first}`],
      [first, undefined],
    ]);
  }, 240_000);

  it('refuses a rollback whose revision was deregistered, naming it, and deploys nothing', async () => {
    // Prepare
    const first = releaseNameAt(new Date(), 'cli-gone');
    const released = await stepdeploy([
      'release',
      first,
      '--image',
      `app=stepdeploy-demo/app:${first}`,
      '--json',
    ]);
    expect(released.exitCode, released.stderr.text).toBe(0);
    const revision = (await running())['eu/worker'];
    await aws.clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: revision }));

    // Act
    const back = await stepdeploy(['rollback', '--to', first, '--release', 'back-to-gone', '--json']);

    // Assess
    expect(back.exitCode).toBe(1);
    const summary = events(back.stdout).at(-1);
    expect(summary).toMatchObject({
      type: 'summary',
      status: 'FAILED',
      error: 'ValidationError',
      deployments: [],
    });
    const cause = summary?.type === 'summary' ? (summary.cause ?? '') : '';
    expect(cause).toContain(`input.rollbackTo: cannot roll back to release ${first}`);
    expect(cause).toContain(
      `eu/worker: ${revision}, the revision release ${first} deployed, was deregistered (status INACTIVE)`,
    );
  }, 180_000);

  it('refuses a rollback to a release that never succeeded', async () => {
    const back = await stepdeploy(['rollback', '--to', 'never-released', '--json']);

    expect(back.exitCode).toBe(1);
    const summary = events(back.stdout).at(-1);
    expect(summary?.type === 'summary' ? summary.cause : '').toContain(
      'input.rollbackTo: release "never-released" never succeeded',
    );
  }, 120_000);
});

describe('the stepdeploy command', () => {
  const bin = fileURLToPath(new URL('../../bin/stepdeploy.js', import.meta.url));

  function run(args: string[], onStdout?: (text: string, child: ChildProcess) => void) {
    return runBin(
      bin,
      args,
      {
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        STEPDEPLOY_STATE_MACHINE: aws.stateMachineArn,
      },
      onStdout,
    );
  }

  it('stops the run on Ctrl+C, as the old deploy script did, follows it to its end and exits 2', async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'cli-int');
    let sent = false;

    // Act
    const { code, stdout, stderr } = await run(
      ['release', release, '--image', `app=stepdeploy-demo/app:${release}`, '--poll-interval', '250'],
      (text, child) => {
        if (!sent && text.includes('==> Migrate')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );

    // Assess
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('stepdeploy: stopping');
    expect(stdout).toContain(`Release ${release} ABORTED`);
    const executionArn = /started (arn:\S+)/.exec(stderr)?.[1] ?? '';
    const end = await waitForExecutionEnd(aws.clients.sfn, executionArn);
    expect(end.status).toBe('ABORTED');
    expect(end.cause).toBe('Stopped by stepdeploy (Ctrl+C); the cleanup rolls the run back.');
  }, 180_000);
});
