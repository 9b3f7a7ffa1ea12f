import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import type { TaskPhaseState } from '../../../lambdas/shared/types.js';
import { serveConfig } from '../shared/config-parameters.js';
import { testConfig } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const TIME_SCALE = 1000;
const ssm = mockClient(SSMClient);
let handler: typeof import('../../../lambdas/check-tasks/handler.js').handler;

const state: TaskPhaseState = {
  phase: 'migrate',
  status: 'RUNNING',
  failures: [],
  tasks: [{ environment: 'us', step: 'migrate', taskArn: 'arn:aws:ecs:us-east-1:1:task/us-cluster/us1' }],
};

describe('check-tasks handler', () => {
  beforeAll(async () => {
    serveConfig(ssm, testConfig({ pollSeconds: 5, watchSeconds: 60 }));
    // The handler's clock divides its sleeps by the time scale, so the polls below take milliseconds.
    process.env.STEPDEPLOY_TIME_SCALE = String(TIME_SCALE);
    ({ handler } = await import('../../../lambdas/check-tasks/handler.js'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  beforeEach(() => {
    ecs.reset();
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [{ taskArn: state.tasks[0].taskArn, lastStatus: 'RUNNING', containers: [{ name: 'app' }] }],
    });
  });

  it('refuses an event without a phase state, naming the field', async () => {
    await expect(handler({ state: { ...state, status: 'DONE' } })).rejects.toThrow(ValidationError);
    await expect(handler({ state: { ...state, status: 'DONE' } })).rejects.toThrow(/^event\.state\.status: /);
    await expect(handler({})).rejects.toThrow(/^event\.state: /);
  });

  it.each([
    { remainingMs: 900_000, looks: 13 },
    { remainingMs: 41_000, looks: 3 },
    { remainingMs: 20_000, looks: 1 },
  ])('looks $looks times with $remainingMs ms of Lambda time left', async ({ remainingMs, looks }) => {
    // Prepare: the Lambda context counts down on the handler's scaled clock, as the local runner's does.
    vi.useFakeTimers();
    const startedMs = Date.now();
    const context = { getRemainingTimeInMillis: () => remainingMs - (Date.now() - startedMs) * TIME_SCALE };

    // Act
    const pending = handler({ state }, context);
    await vi.runAllTimersAsync();
    const result = await pending;

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, looks);
  });
});
