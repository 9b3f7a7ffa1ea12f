import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TailEventSchema } from '../../cli/events.js';
import { executionNameOf } from '../../cli/start-run.js';
import { main, STATE_MACHINE_ENV } from '../../cli/stepdeploy.js';
import { FakeClock } from './fake-clock.js';
import { Capture } from './tail-deploy-world.js';

const sfn = mockClient(SFNClient);

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Deploy';
const executionArn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:Deploy:${name}`;
const started = new Date('2026-11-26T08:00:00Z');
const at = (seconds: number) => new Date(started.getTime() + seconds * 1000);

/** A run's history, Plan to its end, without tasks or deployments. */
function history(input: unknown, end: 'ExecutionSucceeded' | 'ExecutionAborted'): HistoryEvent[] {
  return [
    {
      id: 1,
      timestamp: at(0),
      type: 'ExecutionStarted',
      executionStartedEventDetails: { input: JSON.stringify(input) },
    },
    { id: 2, timestamp: at(1), type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Plan' } },
    { id: 3, timestamp: at(5), type: end },
  ];
}

/** Ctrl+C, pressed as many times as `presses` says, once the follow listens. */
function ctrlC(presses: number) {
  return (listener: () => void) => {
    for (let press = 0; press < presses; press += 1) setTimeout(listener, 5 * (press + 1));
    return () => undefined;
  };
}

async function stepdeploy(
  args: string[],
  options: { env?: Record<string, string>; interrupts?: (listener: () => void) => () => void } = {},
) {
  const stdout = new Capture();
  const stderr = new Capture();
  const exitCode = await main(args, {
    stdout,
    stderr,
    env: { [STATE_MACHINE_ENV]: STATE_MACHINE, ...options.env },
    interrupts: options.interrupts ?? (() => () => undefined),
    clock: new FakeClock(started.getTime()),
  });
  return { exitCode, stdout, stderr };
}

describe('executionNameOf', () => {
  it('makes a name Step Functions takes, even for the longest release name', () => {
    expect(executionNameOf('2026-11-26.3', started.getTime())).toBe('2026-11-26-3-20261126T080000');
    const longest = executionNameOf('a.'.repeat(32), started.getTime());
    expect(longest).toMatch(/^[A-Za-z0-9_-]{80}$/);
  });
});

describe('stepdeploy release', () => {
  beforeEach(() => {
    sfn.reset();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    sfn
      .on(StartExecutionCommand)
      .callsFake(({ name }) => ({ executionArn: executionArn(name), startDate: started }));
  });

  it('starts the execution, named after the release, and follows it to its end', async () => {
    // Prepare
    const input = {
      release: '2026-11-26.3',
      images: { app: 'repo/app:3f2c1d0' },
      environments: ['us', 'eu'],
    };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history(input, 'ExecutionSucceeded') });

    // Act
    const { exitCode, stdout, stderr } = await stepdeploy([
      'release',
      '2026-11-26.3',
      '--image',
      'app=repo/app:3f2c1d0',
      '--env',
      'us,eu',
      '--poll-interval',
      '10',
    ]);

    // Assess
    expect(exitCode).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: '2026-11-26-3-20261126T080000',
      input: JSON.stringify(input),
    });
    expect(stderr.text).toContain(`stepdeploy: started ${executionArn('2026-11-26-3-20261126T080000')}`);
    expect(stdout.text).toContain('==> Plan');
    expect(stdout.text).toContain('Release 2026-11-26.3 SUCCEEDED in 5.0s');
  });

  it('stops the run on Ctrl+C and follows it until it ended', async () => {
    // Prepare: the history shows the abort once StopExecution was called.
    const input = { release: 'r1', images: { app: 'repo/app:r1' } };
    sfn.on(GetExecutionHistoryCommand).callsFake(() => {
      const stopped = sfn.commandCalls(StopExecutionCommand).length > 0;
      const events = history(input, 'ExecutionAborted');
      return { events: stopped ? events : events.slice(0, 2) };
    });

    // Act
    const { exitCode, stderr } = await stepdeploy(['release', 'r1', '--image', 'app=repo/app:r1'], {
      interrupts: ctrlC(1),
    });

    // Assess
    expect(exitCode).toBe(2);
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: executionArn('r1-20261126T080000'),
      cause: 'Stopped by stepdeploy (Ctrl+C); the cleanup rolls the run back.',
    });
    expect(stderr.text).toContain('stepdeploy: stopping');
  });

  it('detaches on Ctrl+C with --detach-on-interrupt, saying how to re-attach', async () => {
    // Prepare
    const input = { release: 'r1', images: { app: 'repo/app:r1' } };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history(input, 'ExecutionSucceeded').slice(0, 2) });

    // Act
    const { exitCode, stderr } = await stepdeploy(
      ['release', 'r1', '--image', 'app=repo/app:r1', '--detach-on-interrupt'],
      { interrupts: ctrlC(1) },
    );

    // Assess
    expect(exitCode).toBe(130);
    expect(sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(stderr.text).toContain(`Re-attach with:\n  stepdeploy tail ${executionArn('r1-20261126T080000')}`);
  });

  it('prints the input with --dry-run and starts nothing', async () => {
    // Act
    const { exitCode, stdout } = await stepdeploy([
      'release',
      'r1',
      '--image',
      'app=repo/app:r1',
      '--image',
      'sidecar=repo/sidecar:2',
      '--skip-migrations',
      '--dry-run',
      '--json',
    ]);

    // Assess
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout.text)).toEqual({
      stateMachineArn: STATE_MACHINE,
      name: 'r1-20261126T080000',
      input: {
        release: 'r1',
        images: { app: 'repo/app:r1', sidecar: 'repo/sidecar:2' },
        skipMigrations: true,
      },
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it.each([
    [
      ['release', 'r1'],
      'stepdeploy release: give the image of each container to roll out, e.g. --image app=',
    ],
    [['release', 'r1', '--image', 'app'], "option '--image <container=uri>' argument 'app' is invalid"],
    [['release', 'r1', '--image', 'app='], 'expected <container>=<image URI>'],
    [
      ['release', 'r1', '--image', 'app=a', '--image', 'app=b'],
      'container "app" is given twice (also a); give each container one image',
    ],
    [
      ['release', 'r1', '--image', 'app=a', '--env', 'us,,eu'],
      "option '--env <names>' argument 'us,,eu' is invalid",
    ],
    [['release', 'r1', '--image', 'app=a', '--force'], "error: unknown option '--force'"],
    [
      ['release', 'r 1', '--image', 'app=a'],
      '<name> "r 1" is not a release name; use 1-64 of A-Z a-z 0-9 . _ -',
    ],
    [['release', 'r1', '--image', 'app=a', '--poll-interval', '0'], '--poll-interval takes a number > 0'],
    [['rollback', '--to', 'r 1'], "option '--to <release>' argument 'r 1' is invalid"],
    [['history', '--limit', '5000'], 'takes a whole number from 1 to 1000'],
    [['deploy'], "error: unknown command 'deploy'"],
  ])('refuses %j before anything starts: %s', async (args, message) => {
    // Act
    const { exitCode, stderr } = await stepdeploy(args);

    // Assess
    expect(exitCode).toBe(64);
    expect(stderr.text).toContain(message);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses to start without a state machine, naming the flag and the variable', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const exitCode = await main(['release', 'r1', '--image', 'app=a'], { stdout, stderr, env: {} });

    expect(exitCode).toBe(64);
    expect(stderr.text).toContain(
      `no state machine: give --state-machine <arn>, or set ${STATE_MACHINE_ENV}`,
    );
  });

  it('exits 3 naming the permission when StartExecution is denied', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).rejects(
      Object.assign(new Error('not authorized to perform: states:StartExecution'), {
        name: 'AccessDeniedException',
      }),
    );

    // Act
    const { exitCode, stderr } = await stepdeploy(['release', 'r1', '--image', 'app=a']);

    // Assess
    expect(exitCode).toBe(3);
    expect(stderr.text).toContain(
      `stepdeploy: StartExecution on ${STATE_MACHINE} in Region us-east-1 was denied: the caller needs states:StartExecution.`,
    );
  });
});

describe('stepdeploy rollback and history', () => {
  /** Succeeded releases r1, r2, r3, one a minute, listed newest first. */
  function threeReleases(): void {
    const runs = ['r1', 'r2', 'r3'].map((name, index) => ({ name, at: at(index * 60) }));
    sfn.on(ListExecutionsCommand).resolves({
      executions: [...runs].reverse().map((run) => ({
        executionArn: executionArn(run.name),
        stateMachineArn: STATE_MACHINE,
        name: run.name,
        status: 'SUCCEEDED',
        startDate: run.at,
      })),
    });
    sfn.on(DescribeExecutionCommand).callsFake(({ executionArn: arn }) => {
      const run = runs.find((candidate) => executionArn(candidate.name) === arn);
      return {
        executionArn: arn,
        status: 'SUCCEEDED',
        startDate: run?.at,
        stopDate: run ? new Date(run.at.getTime() + 30_000) : undefined,
        input: JSON.stringify({ release: run?.name, images: { app: `repo/app:${run?.name}` } }),
      };
    });
  }

  beforeEach(() => {
    sfn.reset();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  });

  it('rolls back to the release before the current one by default', async () => {
    // Prepare
    threeReleases();

    // Act
    const { exitCode, stdout, stderr } = await stepdeploy(['rollback', '--dry-run']);

    // Assess
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout.text)).toEqual({ release: 'rollback-to-r2', rollbackTo: 'r2' });
    expect(stderr.text).toContain(
      'stepdeploy: rolling back to r2, the last release that succeeded before the current one',
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('starts a rollbackTo execution to the release given, and follows it', async () => {
    // Prepare
    const input = { release: 'back', rollbackTo: 'r1', environments: ['eu'] };
    sfn
      .on(StartExecutionCommand)
      .callsFake(({ name }) => ({ executionArn: executionArn(name), startDate: started }));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history(input, 'ExecutionSucceeded') });

    // Act
    const { exitCode, stdout } = await stepdeploy([
      'rollback',
      '--to',
      'r1',
      '--release',
      'back',
      '--env',
      'eu',
      '--json',
      '--poll-interval',
      '10',
    ]);

    // Assess
    expect(exitCode).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: 'back-20261126T080000',
      input: JSON.stringify(input),
    });
    expect(sfn).not.toHaveReceivedCommand(ListExecutionsCommand);
    const events = stdout.lines.map((line) => TailEventSchema.parse(JSON.parse(line)));
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      release: 'back',
      rollbackTo: 'r1',
      status: 'SUCCEEDED',
    });
  });

  it('exits 3 when the history shows no release to go back to', async () => {
    // Prepare
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    // Act
    const { exitCode, stderr } = await stepdeploy(['rollback']);

    // Assess
    expect(exitCode).toBe(3);
    expect(stderr.text).toContain('shows no release to roll back to among its newest 0 executions');
    expect(stderr.text).toContain('Give --to <release>');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('lists the history, newest first, as a table or one JSON object per release', async () => {
    // Prepare
    threeReleases();

    // Act
    const table = await stepdeploy(['history', '--limit', '2']);
    const json = await stepdeploy(['history', '--json']);

    // Assess
    expect(table.exitCode).toBe(0);
    expect(table.stdout.lines.map((line) => line.split(/\s+/)[0])).toEqual(['RELEASE', 'r3', 'r2']);
    expect(json.stdout.lines.map((line) => JSON.parse(line).release)).toEqual(['r3', 'r2', 'r1']);
  });
});

describe('stepdeploy tail', () => {
  beforeEach(() => {
    sfn.reset();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  });

  it("follows the state machine's latest run, from STEPDEPLOY_STATE_MACHINE, with tail-deploy's flags", async () => {
    // Prepare
    const input = { release: 'r9', images: { app: 'x' } };
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: executionArn('r9'),
          stateMachineArn: STATE_MACHINE,
          name: 'r9',
          status: 'SUCCEEDED',
          startDate: started,
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: executionArn('r9'),
      status: 'SUCCEEDED',
      startDate: started,
      stopDate: at(5),
      input: JSON.stringify(input),
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history(input, 'ExecutionSucceeded') });

    // Act
    const { exitCode, stdout } = await stepdeploy(['tail', '--latest', '--poll-interval', '10']);

    // Assess
    expect(exitCode).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE });
    expect(stdout.text).toContain('Release r9 SUCCEEDED');
  });

  it('shows its usage under its own name', async () => {
    const { exitCode, stdout } = await stepdeploy(['tail', '--help']);

    expect(exitCode).toBe(0);
    expect(stdout.text).toContain('Usage: stepdeploy tail [options] [execution-arn]');
    expect(stdout.text).toContain('--abort-on-interrupt');
  });
});
