import { readFileSync } from 'node:fs';
import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TailEvent, TailEventSchema } from '../../cli/events.js';
import { Capture, ENVIRONMENTS, type PlannedTask, printLines, World } from './tail-deploy-world.js';

let world: World;
let runs = 0;

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLOCAL');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local-secret');
  vi.stubEnv('AWS_PROFILE', undefined);
  world = await World.start();
});

afterAll(async () => {
  await world?.stop();
  vi.unstubAllEnvs();
});

const release = () => `2026-11-26.${++runs}`;

/** One migration per environment, printing `count` lines a few at a time, then a last line. */
const migrations = (
  count: number,
  options: { exitCodes?: Record<string, number>; tickMs?: number; perTick?: number } = {},
): PlannedTask[] =>
  ENVIRONMENTS.map((env) => ({
    environment: env.name,
    region: env.region,
    step: 'migrate',
    command: printLines(`${env.name}-migrate`, count, {
      perTick: options.perTick ?? 5,
      tickMs: options.tickMs ?? 20,
      exitCode: options.exitCodes?.[env.name] ?? 0,
    }),
  }));

const expectedLines = (env: string, count: number) =>
  Array.from({ length: count }, (_, i) => `[${env}] ${env}-migrate line ${i}`);

function parseNdjson(text: string): TailEvent[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => TailEventSchema.parse(JSON.parse(line)));
}

/** `count` steps `s0`, `s1`... spread over the environments, each printing `lines` lines, `perTick` every 25 ms. */
function printingSteps(count: number, lines: number, perTick: number): PlannedTask[] {
  return Array.from({ length: count }, (_, i) => {
    const env = ENVIRONMENTS[i % ENVIRONMENTS.length];
    return {
      environment: env.name,
      region: env.region,
      step: `s${i}`,
      command: printLines(`s${i}`, lines, { perTick, tickMs: 25 }),
    };
  });
}

/** The log lines of tail-deploy's --json output, by step, in the order printed. */
function logLinesByStep(ndjson: string): Map<string, string[]> {
  const byStep = new Map<string, string[]>();
  for (const event of parseNdjson(ndjson)) {
    if (event.type !== 'log') continue;
    byStep.set(event.step, [...(byStep.get(event.step) ?? []), event.message]);
  }
  return byStep;
}

describe('tail-deploy against the local AWS', () => {
  it('prints every line of three environments once, in order, prefixed, and exits 0 on success', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(40));
    // Act
    const { exitCode, stdout, stderr } = await world.tail([arn, '--no-color']);
    // Assess
    expect(stderr.text).toBe('');
    expect(exitCode).toBe(0);
    for (const env of ENVIRONMENTS) {
      const lines = stdout.lines.filter((line) => line.startsWith(`[${env.name}] ${env.name}-migrate line`));
      expect(lines).toEqual(expectedLines(env.name, 40));
      expect(stdout.lines).toContainEqual(
        expect.stringMatching(new RegExp(`^\\[${env.name}\\] migrate exited 0 after `)),
      );
    }
    expect(stdout.lines).toContain('==> Migrate');
    expect(stdout.text).toMatch(/Release 2026-11-26\.\d+ SUCCEEDED in /);
    expect(stdout.text).not.toContain('\u001b[');
  });

  it('prints a task end only after its last line, and exits 1 when a migration fails', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(30, { exitCodes: { eu: 3 } }));
    // Act
    const { exitCode, stdout } = await world.tail([arn, '--no-color']);
    // Assess
    expect(exitCode).toBe(1);
    for (const env of ENVIRONMENTS) {
      const last = stdout.lines.indexOf(`[${env.name}] ${env.name}-migrate line 29`);
      const end = stdout.lines.findIndex((line) => line.startsWith(`[${env.name}] migrate exited`));
      expect(last).toBeGreaterThan(-1);
      expect(end).toBeGreaterThan(last);
    }
    expect(stdout.lines).toContainEqual(expect.stringMatching(/^\[eu\] migrate exited 3 after /));
    expect(stdout.text).toMatch(/Release 2026-11-26\.\d+ FAILED/);
    expect(stdout.text).toContain('TaskFailedError: a migration failed');
  });

  it('writes NDJSON that the published schema accepts, ending with the summary', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(10, { exitCodes: { au: 2 } }));
    // Act
    const { exitCode, stdout } = await world.tail([arn, '--json']);
    // Assess
    expect(exitCode).toBe(1);
    const events = parseNdjson(stdout.text);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['phase', 'task-started', 'log', 'task-stopped', 'summary']),
    );
    const summary = events.at(-1);
    expect(summary).toMatchObject({ type: 'summary', status: 'FAILED', exitCode: 1, executionArn: arn });
    expect(events.filter((e) => e.type === 'log')).toHaveLength(30);
    expect(events.find((e) => e.type === 'task-stopped' && e.environment === 'au')).toMatchObject({
      exitCode: 2,
    });
  });

  it('follows 20 streams × 2,000 lines with throttling injected mid-follow: 0 lost, 0 duplicated', async () => {
    // Prepare
    const arn = await world.startRun(release(), printingSteps(20, 2000, 100));
    const stdout = new Capture();
    // Throttle GetLogEvents as soon as the first lines come in.
    const throttled = stdout
      .waitFor((line) => line.includes('"type":"log"'))
      .then(() => world.fault({ kind: 'throttle', service: 'logs', operation: 'GetLogEvents', count: 6 }));
    // Act
    const { exitCode } = await world.tail([arn, '--json'], { stdout });
    await throttled;
    // Assess
    expect(exitCode).toBe(0);
    expect(world.local.faults.list()).toEqual([]);
    const byStep = logLinesByStep(stdout.text);
    for (let i = 0; i < 20; i++) {
      const got = byStep.get(`s${i}`) ?? [];
      expect(got.length).toBe(2000);
      expect(got).toEqual(Array.from({ length: 2000 }, (_, n) => `s${i} line ${n}`));
    }
  });

  it('reads on past empty pages mid-stream, as CloudWatch Logs may answer them: every line once', async () => {
    // Prepare
    const arn = await world.startRun(release(), printingSteps(4, 500, 50));
    const stdout = new Capture();
    // Empty pages with new tokens, as soon as the first lines come in: each could pass for the end.
    const emptied = stdout
      .waitFor((line) => line.includes('"type":"log"'))
      .then(() => world.fault({ kind: 'logs-empty-page', count: 40 }));
    // Act
    const { exitCode } = await world.tail([arn, '--json'], { stdout });
    await emptied;
    // Assess
    expect(exitCode).toBe(0);
    expect(world.local.faults.list()).toEqual([]);
    const byStep = logLinesByStep(stdout.text);
    for (let i = 0; i < 4; i++) {
      expect(byStep.get(`s${i}`) ?? []).toEqual(Array.from({ length: 500 }, (_, n) => `s${i} line ${n}`));
    }
  });

  it('under throttling that outlasts --drain-timeout, names the unread streams, marks the summary incomplete and exits 4', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(40, { tickMs: 50 }));
    const stdout = new Capture();
    const stderr = new Capture();
    const throttled = stdout
      .waitFor((line) => line.includes('"type":"log"'))
      .then(() =>
        world.fault({ kind: 'throttle', service: 'logs', operation: 'GetLogEvents', count: 1_000_000 }),
      );
    try {
      // Act
      const { exitCode } = await world.tail([arn, '--json', '--drain-timeout', '3s'], { stdout, stderr });
      await throttled;
      // Assess
      expect(exitCode).toBe(4);
      const summary = parseNdjson(stdout.text).at(-1);
      expect(summary).toMatchObject({ type: 'summary', status: 'SUCCEEDED', exitCode: 4, complete: false });
      const incomplete = summary?.type === 'summary' ? (summary.incomplete ?? []) : [];
      expect(incomplete.length).toBeGreaterThan(0);
      for (const log of incomplete) {
        expect(stderr.text).toContain(`--log-stream-name ${log.logStream} --start-from-head`);
        expect(log.reason).toContain('CloudWatch Logs was throttling GetLogEvents');
      }
      expect(stderr.text).toContain('the output is incomplete');
    } finally {
      await world.clearFaults();
    }
  });

  it('attached mid-run, prints each stream from its head', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(100, { tickMs: 50 }));
    await vi.waitFor(
      () => {
        const started = world.local.ecs.allTasks().filter((t) => t.task.lastStatus === 'RUNNING');
        if (started.length < 3) throw new Error('tasks not running yet');
      },
      { timeout: 10_000, interval: 50 },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await world.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    // Act
    const { exitCode, stdout } = await world.tail([arn, '--no-color']);
    // Assess
    expect(before.status).toBe('RUNNING');
    expect(exitCode).toBe(0);
    for (const env of ENVIRONMENTS) {
      expect(stdout.lines.filter((line) => line.startsWith(`[${env.name}] ${env.name}-migrate`))).toEqual(
        expectedLines(env.name, 100),
      );
    }
  });

  it('exits 2 when the run is aborted', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(20, { tickMs: 100, perTick: 1 }));
    const stdout = new Capture();
    const stopped = stdout
      .waitFor((line) => line.includes('-migrate line 0'))
      .then(() => world.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Cancelled' })));
    // Act
    const { exitCode } = await world.tail([arn, '--no-color'], { stdout });
    await stopped;
    // Assess
    expect(exitCode).toBe(2);
    expect(stdout.text).toMatch(/Release 2026-11-26\.\d+ ABORTED/);
  });

  it('exits 2 when the run timed out', async () => {
    // Prepare
    const machine = await world.createStateMachine('DeployWithTimeout', 1);
    const arn = await world.startRun(release(), migrations(40, { tickMs: 100, perTick: 1 }), machine);
    // Act
    const { exitCode, stdout } = await world.tail([arn, '--json']);
    // Assess
    expect(exitCode).toBe(2);
    expect(parseNdjson(stdout.text).at(-1)).toMatchObject({
      type: 'summary',
      status: 'TIMED_OUT',
      exitCode: 2,
    });
  });

  it('with --abort-on-interrupt, stops the execution on Ctrl+C and follows it to its end', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(20, { tickMs: 100, perTick: 1 }));
    const stdout = new Capture();
    const stderr = new Capture();
    let interrupt: (() => void) | undefined;
    void stdout.waitFor((line) => line.includes('-migrate line 0')).then(() => interrupt?.());
    // Act
    const { exitCode } = await world.tail([arn, '--no-color', '--abort-on-interrupt'], {
      stdout,
      stderr,
      interrupts: (listener) => {
        interrupt = listener;
        return () => undefined;
      },
    });
    // Assess
    const after = await world.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(after.status).toBe('ABORTED');
    expect(exitCode).toBe(2);
    expect(stderr.text).toContain(`stopping ${arn}`);
    expect(stdout.text).toMatch(/ABORTED/);
  });

  it('on Ctrl+C detaches, says how to re-attach and exits 130, leaving the run going', async () => {
    // Prepare
    const arn = await world.startRun(release(), migrations(20, { tickMs: 100, perTick: 1 }));
    const stdout = new Capture();
    const stderr = new Capture();
    let interrupt: (() => void) | undefined;
    void stdout.waitFor((line) => line.includes('-migrate line 0')).then(() => interrupt?.());
    // Act
    const { exitCode } = await world.tail([arn, '--no-color'], {
      stdout,
      stderr,
      interrupts: (listener) => {
        interrupt = listener;
        return () => undefined;
      },
    });
    // Assess
    const after = await world.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(exitCode).toBe(130);
    expect(after.status).toBe('RUNNING');
    expect(stderr.text).toContain(`tail-deploy ${arn}`);
  });

  it('finds the run by --state-machine and --release, or --latest', async () => {
    // Prepare
    const wanted = release();
    await world.startRun(wanted, migrations(3));
    const latest = release();
    const latestArn = await world.startRun(latest, migrations(3, { exitCodes: { us: 1 } }));
    // Act
    const byRelease = await world.tail([
      '--state-machine',
      world.stateMachineArn,
      '--release',
      wanted,
      '--json',
    ]);
    const byLatest = await world.tail(['--state-machine', world.stateMachineArn, '--latest', '--json']);
    // Assess
    expect(byRelease.exitCode).toBe(0);
    expect(parseNdjson(byRelease.stdout.text).at(-1)).toMatchObject({ release: wanted, status: 'SUCCEEDED' });
    expect(byLatest.exitCode).toBe(1);
    expect(parseNdjson(byLatest.stdout.text).at(-1)).toMatchObject({
      executionArn: latestArn,
      release: latest,
    });
  });

  it.each([
    [
      'an execution that does not exist',
      ['arn:aws:states:eu-west-1:000000000000:execution:Deploy:nope'],
      /execution:Deploy:nope was not found in Region eu-west-1/,
    ],
    [
      'a release no execution has',
      ['--state-machine', 'arn:aws:states:us-east-1:000000000000:stateMachine:Deploy', '--release', 'never'],
      /has no execution with input.release "never"/,
    ],
    [
      'a state machine that does not exist',
      ['--state-machine', 'arn:aws:states:us-east-1:000000000000:stateMachine:Nope', '--latest'],
      /stateMachine:Nope was not found in Region us-east-1/,
    ],
  ])('exits 3 for %s and says what was looked for where', async (_name, args, message) => {
    // Act
    const { exitCode, stderr } = await world.tail([...args, '--no-color']);
    // Assess
    expect(exitCode).toBe(3);
    expect(stderr.text).toMatch(message);
  });
});

describe('tail-deploy usage', () => {
  it.each([
    ['no run named', [], /give an execution ARN, or --state-machine/],
    ['not an ARN', ['deploy-1'], /"deploy-1" is not an execution ARN/],
    [
      'a state machine ARN as the run',
      ['arn:aws:states:us-east-1:000000000000:stateMachine:Deploy'],
      /is not an execution ARN/,
    ],
    [
      '--release without --state-machine',
      ['arn:aws:states:us-east-1:000000000000:execution:D:x', '--release', 'r'],
      /--release and --latest go with --state-machine/,
    ],
    [
      '--state-machine without a choice',
      ['--state-machine', 'arn:aws:states:us-east-1:000000000000:stateMachine:D'],
      /exactly one of --release <name> or --latest/,
    ],
    [
      'a bad --since',
      ['arn:aws:states:us-east-1:000000000000:execution:D:x', '--since', 'yesterday'],
      /--since takes a duration/,
    ],
    [
      'a bad --poll-interval',
      ['arn:aws:states:us-east-1:000000000000:execution:D:x', '--poll-interval', '0'],
      /--poll-interval takes a number > 0/,
    ],
    ['an unknown flag', ['--tail'], /unknown option '--tail'/],
  ])('exits 64 for %s', async (_name, args, message) => {
    // Act
    const { exitCode, stderr } = await world.tail(args);
    // Assess
    expect(exitCode).toBe(64);
    expect(stderr.text).toMatch(message);
  });

  it('shows every flag with examples on --help and exits 0', async () => {
    // Act
    const { exitCode, stdout } = await world.tail(['--help']);
    // Assess
    expect(exitCode).toBe(0);
    const flags = [
      '--state-machine',
      '--release',
      '--latest',
      '--region',
      '--profile',
      '--endpoint-url',
      '--since',
      '--json',
      '--no-color',
      '--abort-on-interrupt',
      '--poll-interval',
      '--max-logs-rps',
      '--drain-timeout',
    ];
    for (const flag of flags) {
      expect(stdout.text).toContain(flag);
    }
    const examples = stdout.text.slice(stdout.text.indexOf('Examples:'));
    for (const flag of flags) {
      expect(examples, `an example with ${flag}`).toContain(flag);
    }
  });

  it('publishes the JSON Schema generated from the event schemas', async () => {
    const { eventsJsonSchema } = await import('../../cli/events.js');
    const published = JSON.parse(
      readFileSync(new URL('../../docs/tail-deploy-events.schema.json', import.meta.url), 'utf8'),
    );
    expect(
      published,
      'docs/tail-deploy-events.schema.json is out of date: see "Regenerating the schema" in docs/tail-deploy.md',
    ).toEqual(eventsJsonSchema());
  });
});
