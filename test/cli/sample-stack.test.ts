import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TailEvent, TailEventSchema } from '../../cli/events.js';
import { main } from '../../cli/tail-deploy.js';
import {
  releaseNameAt,
  type SampleAws,
  startRelease,
  startSampleAws,
} from '../../examples/demo/sample-aws.js';
import { Capture, runBin } from './tail-deploy-world.js';

let aws: SampleAws;

beforeEach(async () => {
  aws = await startSampleAws({ timeScale: 100 });
}, 60_000);

afterEach(async () => {
  await aws?.stop();
}, 60_000);

async function tailJson(executionArn: string): Promise<{ exitCode: number; events: TailEvent[] }> {
  const stdout = new Capture();
  const exitCode = await main(
    [executionArn, '--json', '--endpoint-url', aws.endpoint, '--poll-interval', '250'],
    {
      stdout,
      stderr: new Capture(),
      env: {},
      interrupts: () => () => undefined,
    },
  );
  const events = stdout.lines.map((line) => TailEventSchema.parse(JSON.parse(line)));
  return { exitCode, events };
}

/** Every line of a task's stream, read straight from the local CloudWatch Logs once the run is over. */
async function streamLines(started: Extract<TailEvent, { type: 'task-started' }>): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await aws.clients.logs.send(
      new GetLogEventsCommand({
        logGroupName: started.logGroup,
        logStreamName: started.logStream,
        startFromHead: true,
        nextToken: token,
      }),
    );
    lines.push(...(page.events ?? []).map((event) => event.message ?? ''));
    if (page.nextForwardToken === token) return lines;
    token = page.nextForwardToken;
  }
}

describe('tail-deploy on the sample stack', () => {
  it('follows a release of us, eu and au to SUCCEEDED with every task line once', async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'tail-ok');
    const executionArn = await startRelease(aws, release);
    // Act
    const { exitCode, events } = await tailJson(executionArn);
    // Assess
    expect(exitCode).toBe(0);
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      status: 'SUCCEEDED',
      outcome: 'SUCCEEDED',
      release,
    });
    const started = events.filter(
      (e): e is Extract<TailEvent, { type: 'task-started' }> => e.type === 'task-started',
    );
    expect(new Set(started.map((e) => `${e.environment}/${e.step}`))).toEqual(
      new Set(['us', 'eu', 'au'].flatMap((env) => [`${env}/assets`, `${env}/migrate`, `${env}/tag-release`])),
    );
    for (const task of started) {
      const printed = events.flatMap((e) =>
        e.type === 'log' && e.taskArn === task.taskArn ? [e.message] : [],
      );
      expect(printed).toEqual(await streamLines(task));
      expect(events.find((e) => e.type === 'task-stopped' && e.taskArn === task.taskArn)).toMatchObject({
        exitCode: 0,
      });
    }
    expect(
      events.some(
        (e) => e.type === 'log' && e.environment === 'eu' && e.message.includes('migrations complete'),
      ),
    ).toBe(true);
    const deployments = new Set(
      events.flatMap((e) => (e.type === 'deployment' ? [`${e.environment}/${e.service}`] : [])),
    );
    expect(deployments).toEqual(
      new Set(['us/web', 'us/worker', 'eu/web', 'eu/worker', 'au/web', 'au/worker']),
    );
  });

  it('reports the rollbacks and exits 1 when a deployment fails', async () => {
    // Prepare
    aws.local.faults.add([
      { kind: 'deployment-failure', environment: 'eu', service: 'web', lifecycleEvent: 'AfterInstall' },
    ]);
    const release = releaseNameAt(new Date(), 'tail-rb');
    const executionArn = await startRelease(aws, release);
    // Act
    const { exitCode, events } = await tailJson(executionArn);
    // Assess
    expect(exitCode).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'summary', status: 'FAILED', outcome: 'ROLLED_BACK' });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'deployment', environment: 'eu', service: 'web', status: 'Failed' }),
    );
    const rollbacks = events.filter((e) => e.type === 'rollback');
    expect(
      new Set(rollbacks.flatMap((e) => (e.type === 'rollback' ? [`${e.environment}/${e.service}`] : []))),
    ).toEqual(new Set(['us/web', 'us/worker', 'eu/web', 'eu/worker', 'au/web', 'au/worker']));
  });
});

describe('the tail-deploy command', () => {
  const bin = fileURLToPath(new URL('../../bin/tail-deploy.js', import.meta.url));

  function run(args: string[], onStdout?: (text: string, child: ChildProcess) => void) {
    return runBin(
      bin,
      args,
      {
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      onStdout,
    );
  }

  it('runs from bin/, follows a release through AWS_ENDPOINT_URL and exits with its code', async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'tail-bin');
    const executionArn = await startRelease(aws, release);
    // Act
    const { code, stdout, stderr } = await run([executionArn, '--poll-interval', '250']);
    // Assess
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\[eu\] migrations complete: 5 applied$/m);
    expect(stdout).toContain(`Release ${release} SUCCEEDED`);
  });

  it('detaches on SIGINT, says how to re-attach and exits 130', async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'tail-int');
    const executionArn = await startRelease(aws, release);
    let sent = false;
    // Act
    const { code, stderr } = await run([executionArn, '--poll-interval', '250'], (text, child) => {
      if (!sent && text.includes('==> Plan')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    // Assess
    expect(code).toBe(130);
    expect(stderr).toContain(`Re-attach with:\n  tail-deploy ${executionArn}`);
  });
});
