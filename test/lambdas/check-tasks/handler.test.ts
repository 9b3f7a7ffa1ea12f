import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import type { TaskPhaseState } from '../../../lambdas/shared/types.js';
import { serveConfig } from '../shared/config-parameters.js';
import { testConfig } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
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
    process.env.STEPDEPLOY_TIME_SCALE = '10000';
    ({ handler } = await import('../../../lambdas/check-tasks/handler.js'));
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
    // Act
    const result = await handler({ state }, { getRemainingTimeInMillis: () => remainingMs });

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, looks);
  });
});
