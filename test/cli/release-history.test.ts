import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnreadableRunError } from '../../cli/errors.js';
import {
  HISTORY_DEFAULT_LIMIT,
  previousRelease,
  type ReleaseRecord,
  releaseHistory,
  renderHistory,
} from '../../cli/release-history.js';
import { Capture } from './tail-deploy-world.js';

const sfn = mockClient(SFNClient);
const client = new SFNClient({ region: 'us-east-1' });
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:Deploy';
const executionArn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:Deploy:${name}`;

/** One execution of the state machine, as DescribeExecution tells it. */
interface Run {
  name: string;
  status: ExecutionStatus;
  /** Minutes after 08:00 it started; it ran 5 minutes unless running. */
  at: number;
  input: Record<string, unknown>;
  /** The announced outcome of a FAILED run, from its history. */
  announced?: 'FAILED' | 'ROLLED_BACK';
  environments?: string[];
}

const minute = (at: number) => new Date(Date.parse('2026-11-26T08:00:00Z') + at * 60_000);

/**
 * Serves `runs` through ListExecutions (closed runs ordered by their stop, as Step Functions
 * lists them, running ones first), DescribeExecution and GetExecutionHistory.
 */
function serve(runs: Run[]): void {
  const listed = [...runs].sort((a, b) => {
    const key = (run: Run) => (run.status === 'RUNNING' ? 1e9 + run.at : run.at + 5);
    return key(b) - key(a);
  });
  sfn.on(ListExecutionsCommand).callsFake(({ maxResults, nextToken }) => {
    const start = Number(nextToken ?? 0);
    const page = listed.slice(start, start + (maxResults ?? 100));
    return {
      executions: page.map((run) => ({
        executionArn: executionArn(run.name),
        stateMachineArn: STATE_MACHINE,
        name: run.name,
        status: run.status,
        startDate: minute(run.at),
      })),
      nextToken: start + page.length < listed.length ? String(start + page.length) : undefined,
    };
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn: arn }) => {
    const run = runs.find((candidate) => executionArn(candidate.name) === arn);
    if (!run) throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
    const plan = run.environments
      ? {
          release: run.input.release,
          runId: 'sd-1',
          startedAt: minute(run.at).toISOString(),
          account: '123456789012',
          environments: run.environments,
          skipMigrations: false,
          oneOff: {},
          services: {},
        }
      : undefined;
    return {
      executionArn: arn,
      status: run.status,
      startDate: minute(run.at),
      stopDate: run.status === 'RUNNING' ? undefined : minute(run.at + 5),
      input: JSON.stringify(run.input),
      output: run.status === 'SUCCEEDED' ? JSON.stringify({ ...run.input, plan }) : undefined,
    };
  });
  sfn.on(GetExecutionHistoryCommand).callsFake(({ executionArn: arn }) => {
    const run = runs.find((candidate) => executionArn(candidate.name) === arn);
    const announcement = {
      outcome: run?.announced ?? 'FAILED',
      detailType: run?.announced === 'ROLLED_BACK' ? 'Release Rolled Back' : 'Release Failed',
      summary: 'it did not go',
    };
    return {
      events: [
        { id: 9, type: 'ExecutionFailed', timestamp: minute(5) },
        { id: 8, type: 'FailStateEntered', timestamp: minute(5) },
        {
          id: 7,
          type: 'LambdaFunctionSucceeded',
          timestamp: minute(5),
          lambdaFunctionSucceededEventDetails: { output: JSON.stringify(announcement) },
        },
      ],
    };
  });
}

const release = (
  name: string,
  at: number,
  status: ExecutionStatus = 'SUCCEEDED',
  extra: Partial<Run> = {},
) => ({
  name,
  status,
  at,
  input: { release: name, images: { app: `repo/app:${name}` } },
  ...extra,
});
const rollbackTo = (name: string, target: string, at: number, status: ExecutionStatus = 'SUCCEEDED') => ({
  name,
  status,
  at,
  input: { release: name, rollbackTo: target },
});

describe('releaseHistory', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('lists every run newest started first, with its outcome, environments, images and duration', async () => {
    // Prepare: r2 stopped after r3 started, so ListExecutions lists them out of start order.
    serve([
      release('r1', 0, 'SUCCEEDED', { environments: ['us', 'eu'] }),
      release('r2', 10, 'FAILED', { announced: 'ROLLED_BACK' }),
      release('r3', 12, 'FAILED'),
      release('r4', 20, 'ABORTED'),
      rollbackTo('back', 'r1', 30),
      release('r5', 40, 'RUNNING'),
    ]);

    // Act
    const records = await releaseHistory(client, STATE_MACHINE);

    // Assess
    expect(records.map((record) => [record.release, record.outcome, record.rollbackTo])).toEqual([
      ['r5', 'running', undefined],
      ['back', 'succeeded', 'r1'],
      ['r4', 'aborted', undefined],
      ['r3', 'failed', undefined],
      ['r2', 'rolled-back', undefined],
      ['r1', 'succeeded', undefined],
    ]);
    expect(records.at(-1)).toEqual({
      release: 'r1',
      outcome: 'succeeded',
      status: 'SUCCEEDED',
      executionArn: executionArn('r1'),
      startedAt: '2026-11-26T08:00:00.000Z',
      stoppedAt: '2026-11-26T08:05:00.000Z',
      durationMs: 300_000,
      environments: ['us', 'eu'],
      images: { app: 'repo/app:r1' },
    });
    expect(records[0]).toMatchObject({ durationMs: null, environments: null });
    expect(records[1].images).toEqual({});
    // Only the failed runs' histories are read, for their announced outcome.
    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: executionArn('r2'),
      reverseOrder: true,
      maxResults: 20,
    });
  });

  it('marks the releases a later rollback undid, by the first rollback that did', async () => {
    // Prepare
    serve([
      release('r1', 0),
      release('r2', 10),
      release('r3', 20),
      rollbackTo('back-1', 'r1', 30),
      rollbackTo('back-2', 'r1', 40),
      release('r4', 50),
    ]);

    // Act
    const records = await releaseHistory(client, STATE_MACHINE);

    // Assess
    const rolledBack = Object.fromEntries(records.map((record) => [record.release, record.rolledBackBy]));
    expect(rolledBack).toEqual({
      r1: undefined,
      r2: 'back-1',
      r3: 'back-1',
      'back-1': 'back-2',
      'back-2': undefined,
      r4: undefined,
    });
  });

  it(`reads at most the limit (${HISTORY_DEFAULT_LIMIT} by default), in pages of 100`, async () => {
    // Prepare
    serve(Array.from({ length: 260 }, (_, index) => release(`r${index}`, index)));

    // Act
    const byDefault = await releaseHistory(client, STATE_MACHINE);
    sfn.resetHistory();
    const many = await releaseHistory(client, STATE_MACHINE, { limit: 150 });

    // Assess
    expect(byDefault).toHaveLength(HISTORY_DEFAULT_LIMIT);
    expect(byDefault[0].release).toBe('r259');
    expect(many).toHaveLength(150);
    expect(sfn.commandCalls(ListExecutionsCommand).map((call) => call.args[0].input.maxResults)).toEqual([
      100, 50,
    ]);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 150);
    await expect(releaseHistory(client, STATE_MACHINE, { limit: 0 })).rejects.toThrow(RangeError);
  });

  it('names the operation and the permission a denied read needs', async () => {
    // Prepare
    serve([release('r1', 0)]);
    sfn.on(DescribeExecutionCommand).rejects(
      Object.assign(new Error('not authorized to perform: states:DescribeExecution'), {
        name: 'AccessDeniedException',
      }),
    );

    // Act
    const reading = releaseHistory(client, STATE_MACHINE);

    // Assess
    await expect(reading).rejects.toThrow(UnreadableRunError);
    await expect(reading).rejects.toThrow(
      `DescribeExecution on ${executionArn('r1')} in Region us-east-1 was denied: the caller needs states:DescribeExecution.`,
    );
  });
});

describe('previousRelease', () => {
  const record = (
    name: string,
    at: number,
    outcome: ReleaseRecord['outcome'] = 'succeeded',
    extra: Partial<ReleaseRecord> = {},
  ): ReleaseRecord => ({
    release: name,
    outcome,
    status: 'x',
    executionArn: executionArn(name),
    startedAt: minute(at).toISOString(),
    durationMs: 1,
    environments: null,
    images: {},
    ...extra,
  });

  it.each<[string, ReleaseRecord[], string | undefined]>([
    ['the release before the current one', [record('r1', 0), record('r2', 10), record('r3', 20)], 'r2'],
    [
      'past failed and running ones',
      [record('r1', 0), record('r2', 10, 'rolled-back'), record('r3', 20), record('r4', 30, 'running')],
      'r1',
    ],
    [
      'after a rollback, the release before the one it went back to',
      [
        record('r0', 0),
        record('r1', 10),
        record('r2', 20),
        record('back', 30, 'succeeded', { rollbackTo: 'r1' }),
      ],
      'r0',
    ],
    [
      'past a release a rollback undid',
      [
        record('r1', 0),
        record('r2', 10, 'succeeded', { rolledBackBy: 'back' }),
        record('back', 20, 'succeeded', { rollbackTo: 'r1' }),
        record('r3', 30),
      ],
      'r1',
    ],
    ['nothing when only one release succeeded', [record('r1', 0), record('r2', 10, 'failed')], undefined],
    [
      'nothing when the release a rollback went back to is older than the records',
      [record('r5', 0), record('back', 10, 'succeeded', { rollbackTo: 'r1' })],
      undefined,
    ],
  ])('%s', (_name, records, expected) => {
    expect(previousRelease(records)?.release).toBe(expected);
  });
});

describe('renderHistory', () => {
  it('prints one aligned line per run', () => {
    // Prepare
    const out = new Capture();
    const records: ReleaseRecord[] = [
      {
        release: 'back',
        rollbackTo: 'r1',
        outcome: 'succeeded',
        status: 'SUCCEEDED',
        executionArn: executionArn('back'),
        startedAt: '2026-11-26T08:30:00.000Z',
        durationMs: 62_000,
        environments: ['us', 'eu'],
        images: {},
      },
      {
        release: 'r2',
        outcome: 'succeeded',
        status: 'SUCCEEDED',
        executionArn: executionArn('r2'),
        startedAt: '2026-11-26T08:10:00.000Z',
        durationMs: 3_723_000,
        environments: null,
        images: { app: 'repo/app:r2' },
        rolledBackBy: 'back',
      },
    ];

    // Act
    renderHistory(records, out);

    // Assess
    expect(out.lines).toEqual([
      'RELEASE  OUTCOME                    STARTED               DURATION  ENVIRONMENTS  IMAGES           ROLLED BACK',
      "back     rollback to r1: succeeded  2026-11-26 08:30:00Z  1m02s     us,eu         (r1's)           -",
      'r2       succeeded                  2026-11-26 08:10:00Z  1h02m03s  all           app=repo/app:r2  by back',
    ]);
  });
});
