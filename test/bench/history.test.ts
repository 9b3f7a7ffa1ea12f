import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { analyzeHistory, atRealTime, readHistory } from '../../bench/history.js';

let id = 0;
const event = (type: string, details: Partial<HistoryEvent> = {}): HistoryEvent => {
  id += 1;
  return {
    id,
    previousEventId: id - 1,
    timestamp: new Date(id * 1000),
    type: type as HistoryEvent['type'],
    ...details,
  };
};
const entered = (type: string, name: string, input = '{}') =>
  event(type, { stateEnteredEventDetails: { name, input } });
const exited = (type: string, name: string, output = '{}') =>
  event(type, { stateExitedEventDetails: { name, output } });
const lambda = (name: string, output: string) => [
  entered('TaskStateEntered', name),
  event('LambdaFunctionScheduled', {
    lambdaFunctionScheduledEventDetails: { resource: 'arn:fn', input: '{"a":1}' },
  }),
  event('LambdaFunctionStarted'),
  event('LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output } }),
  exited('TaskStateExited', name, output),
];

// A run as the state machine writes it: Plan, one check that says RUNNING, a Choice back,
// the check again, then Succeed.
const history: HistoryEvent[] = [
  event('ExecutionStarted', { executionStartedEventDetails: { input: '{"release":"r1"}' } }),
  ...lambda('Plan', '{"plan":1}'),
  ...lambda('CheckDeployments', '{"status":"RUNNING"}'),
  entered('ChoiceStateEntered', 'DeploymentsDone?'),
  exited('ChoiceStateExited', 'DeploymentsDone?'),
  ...lambda('CheckDeployments', `{"status":"SUCCEEDED","pad":"${'é'.repeat(100)}"}`),
  entered('SucceedStateEntered', 'Done'),
  exited('SucceedStateExited', 'Done'),
  event('ExecutionSucceeded', { executionSucceededEventDetails: { output: '{}' } }),
];

describe('analyzeHistory', () => {
  const figures = analyzeHistory(history);

  it('counts one transition per state entered, of every state type', () => {
    expect(figures.transitions).toBe(5);
    expect(figures.enteredByState).toEqual([
      ['CheckDeployments', 2],
      ['DeploymentsDone?', 1],
      ['Done', 1],
      ['Plan', 1],
    ]);
  });

  it('counts every event', () => {
    expect(figures.events).toBe(history.length);
  });

  it('finds the largest payload in UTF-8 bytes and where it was', () => {
    const largest = `{"status":"SUCCEEDED","pad":"${'é'.repeat(100)}"}`;
    expect(figures.largestPayloadBytes).toBe(Buffer.byteLength(largest));
    expect(figures.largestPayloadBytes).toBe(largest.length + 100);
    expect(figures.largestPayloadAt).toBe('LambdaFunctionSucceeded of CheckDeployments');
    expect(figures.largestPayloadParts).toEqual([
      ['pad', 2 + 200],
      ['status', '"SUCCEEDED"'.length],
    ]);
  });

  it('finds the check loops, their rounds, span and events per round', () => {
    // CheckDeployments entered at event 7 (7 s), left the last time at event 18 (18 s).
    expect(figures.checkLoops).toEqual([
      { state: 'CheckDeployments', rounds: 2, spanMs: 11_000, eventsPerRound: 7 },
    ]);
  });

  it('is zero for an empty history', () => {
    expect(analyzeHistory([])).toMatchObject({ transitions: 0, events: 0, largestPayloadBytes: 0 });
  });
});

describe('atRealTime', () => {
  const figures = analyzeHistory(history);

  it('adds the rounds a loop needs at real time, at the cost of a round', () => {
    // 11 s at scale 100 is 1,100 simulated seconds: 4 rounds of a 300 s watch, 2 more than ran.
    expect(atRealTime(figures, 100, 300)).toEqual({
      transitions: figures.transitions + 4,
      events: figures.events + 14,
      addedRounds: 2,
    });
  });

  it('adds nothing when the loop ran every round it needed', () => {
    expect(atRealTime(figures, 1, 600)).toEqual({
      transitions: figures.transitions,
      events: figures.events,
      addedRounds: 0,
    });
  });
});

describe('readHistory', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

  it('reads every page with the execution data', async () => {
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: history.slice(0, 3), nextToken: 't1' })
      .on(GetExecutionHistoryCommand, { nextToken: 't1' })
      .resolves({ events: history.slice(3) });

    const events = await readHistory(new SFNClient({ region: 'us-east-1' }), 'arn:exec');

    expect(events).toEqual(history);
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[0].args[0].input).toMatchObject({
      executionArn: 'arn:exec',
      includeExecutionData: true,
    });
  });
});
