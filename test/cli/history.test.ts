import { GetExecutionHistoryCommand, type HistoryEvent, InvalidToken, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { classifyOutput, HistoryReader, interpret } from '../../cli/history.js';

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:Deploy:run-1';
const sfnMock = mockClient(SFNClient);
const at = new Date('2026-11-26T08:00:00Z');

const event = (id: number, type = 'PassStateEntered'): HistoryEvent => ({
  id,
  previousEventId: id - 1,
  timestamp: at,
  type: type as HistoryEvent['type'],
  stateEnteredEventDetails: { name: `State${id}` },
});

/** A history served in pages of `pageSize`, tokens being offsets, that grows as the test appends. */
function serve(events: HistoryEvent[], pageSize: number, expiredTokens = new Set<string>()): void {
  sfnMock.on(GetExecutionHistoryCommand).callsFake(async (input) => {
    if (input.nextToken && expiredTokens.delete(input.nextToken)) {
      throw new InvalidToken({ message: 'Invalid Token: expired', $metadata: {} });
    }
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const page = events.slice(from, from + pageSize);
    // Like AWS, a full page comes with a token, even when the next page turns out empty.
    return { events: page, nextToken: page.length === pageSize ? String(from + pageSize) : undefined };
  });
}

describe('HistoryReader', () => {
  beforeEach(() => sfnMock.reset());

  it('returns each event once, in order, as the history grows across pages', async () => {
    // Prepare
    const events = Array.from({ length: 7 }, (_, i) => event(i + 1));
    serve(events, 3);
    const reader = new HistoryReader(new SFNClient({ region: 'us-east-1' }), ARN);
    // Act
    const first = await reader.read();
    events.push(...Array.from({ length: 5 }, (_, i) => event(i + 8)));
    const second = await reader.read();
    const third = await reader.read();
    // Assess
    expect(first.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(second.map((e) => e.id)).toEqual([8, 9, 10, 11, 12]);
    expect(third).toEqual([]);
    expect(reader.lastEventId).toBe(12);
  });

  it('starts a later read at the page that held the last event, not at the first page', async () => {
    // Prepare
    const events = Array.from({ length: 10 }, (_, i) => event(i + 1));
    serve(events, 4);
    const reader = new HistoryReader(new SFNClient({ region: 'us-east-1' }), ARN);
    await reader.read();
    sfnMock.resetHistory();
    // Act
    events.push(event(11));
    const fresh = await reader.read();
    // Assess
    expect(fresh.map((e) => e.id)).toEqual([11]);
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: ARN,
      nextToken: '8',
    });
  });

  it('starts over from the first page when the saved token expired, without repeating events', async () => {
    // Prepare
    const events = Array.from({ length: 6 }, (_, i) => event(i + 1));
    const expired = new Set<string>();
    serve(events, 2, expired);
    const reader = new HistoryReader(new SFNClient({ region: 'us-east-1' }), ARN);
    await reader.read();
    events.push(event(7));
    expired.add('6');
    sfnMock.resetHistory();
    // Act
    const fresh = await reader.read();
    // Assess
    expect(fresh.map((e) => e.id)).toEqual([7]);
    expect(sfnMock).toHaveReceivedNthCommandWith(GetExecutionHistoryCommand, 1, { nextToken: '6' });
    expect(sfnMock).toHaveReceivedNthCommandWith(GetExecutionHistoryCommand, 2, { nextToken: undefined });
  });
});

describe('interpret', () => {
  const lambda = (output: unknown): HistoryEvent => ({
    id: 5,
    timestamp: at,
    type: 'LambdaFunctionSucceeded',
    lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output) },
  });
  const taskPhase = {
    phase: 'migrate',
    tasks: [
      {
        environment: 'us',
        step: 'migrate',
        taskArn: 'arn:aws:ecs:us-east-1:000000000000:task/us/abc',
        log: { logGroup: '/ecs/us', logStream: 'app/app/abc', region: 'us-east-1' },
      },
    ],
    status: 'RUNNING',
    failures: [],
  };
  const deployState = {
    deployments: { us: { web: 'd-1' } },
    status: 'RUNNING',
    failures: [],
  };
  const rollbackState = {
    rollbacks: [{ environment: 'us', service: 'web', deploymentId: 'd-1', action: 'stop' }],
    status: 'RUNNING',
  };
  const announcement = { outcome: 'ROLLED_BACK', detailType: 'Release Rolled Back', summary: 'rolled back' };

  const plan = {
    release: 'r3',
    runId: 'sd-1',
    startedAt: '2026-11-26T08:00:00.000Z',
    account: '123456789012',
    environments: ['us'],
    skipMigrations: true,
    oneOff: {},
    services: { us: { web: [4, 2] } },
    rollbackTo: 'r1',
    endedWaits: [{ release: 'r2', deployments: { us: { web: 'd-0' } } }],
  };

  it.each<[string, HistoryEvent, unknown]>([
    ['the plan', lambda(plan), { kind: 'plan', plan }],
    ['a task phase', lambda(taskPhase), { kind: 'tasks', state: taskPhase }],
    ['the deployments', lambda(deployState), { kind: 'deployments', state: deployState }],
    ['the rollbacks', lambda(rollbackState), { kind: 'rollbacks', state: rollbackState }],
    ['the announcement', lambda(announcement), { kind: 'announcement', announcement }],
    [
      'a result wrapped by lambda:invoke',
      {
        id: 6,
        timestamp: at,
        type: 'TaskSucceeded',
        taskSucceededEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          output: JSON.stringify({ Payload: deployState, StatusCode: 200 }),
        },
      },
      { kind: 'deployments', state: deployState },
    ],
    [
      'the start, with its input',
      {
        id: 1,
        timestamp: at,
        type: 'ExecutionStarted',
        executionStartedEventDetails: { input: '{"release":"r1"}' },
      },
      { kind: 'started', input: { release: 'r1' } },
    ],
    ['a state entered', event(3, 'TaskStateEntered'), { kind: 'state', name: 'State3', stateType: 'Task' }],
    ['a success', { id: 9, timestamp: at, type: 'ExecutionSucceeded' }, { kind: 'end', status: 'SUCCEEDED' }],
    [
      'a failure',
      {
        id: 9,
        timestamp: at,
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: 'TaskFailedError', cause: 'us migrate exited 1' },
      },
      { kind: 'end', status: 'FAILED', error: 'TaskFailedError', cause: 'us migrate exited 1' },
    ],
    ['an abort', { id: 9, timestamp: at, type: 'ExecutionAborted' }, { kind: 'end', status: 'ABORTED' }],
    ['a time-out', { id: 9, timestamp: at, type: 'ExecutionTimedOut' }, { kind: 'end', status: 'TIMED_OUT' }],
  ])('recognises %s', (_name, historyEvent, expected) => {
    expect(interpret(historyEvent)).toMatchObject(expected as object);
  });

  it.each<[string, unknown]>([
    ['a plan', { release: 'r1', runId: 'sd-1', environments: ['us'] }],
    ['a task phase missing its status', { phase: 'migrate', tasks: [] }],
    ['an unknown outcome', { outcome: 'MAYBE', detailType: 'x', summary: 'y' }],
    ['not an object', [1, 2, 3]],
  ])('ignores %s', (_name, output) => {
    expect(classifyOutput(output, at)).toBeUndefined();
  });
});
