import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { runIdOf } from '../../../lambdas/shared/markers.js';
import type { Plan } from '../../../lambdas/shared/types.js';
import { serveConfig } from '../shared/config-parameters.js';
import { EXECUTION_ARN, testConfig } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const ssm = mockClient(SSMClient);
let handler: typeof import('../../../lambdas/stop-tasks/handler.js').handler;

const plan: Plan = {
  release: 'r1',
  runId: runIdOf(EXECUTION_ARN),
  startedAt: '2026-11-26T07:00:00.000Z',
  account: '123456789012',
  environments: ['us'],
  skipMigrations: false,
  oneOff: { us: 'us-oneoff:2' },
  services: {},
};

describe('stop-tasks handler', () => {
  beforeAll(async () => {
    serveConfig(ssm, testConfig());
    ({ handler } = await import('../../../lambdas/stop-tasks/handler.js'));
  });

  beforeEach(() => {
    ecs.reset();
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  });

  it.each([
    { event: { phase: 'deploy', plan }, message: /^event\.phase: / },
    {
      event: { phase: 'migrate', plan: { ...plan, runId: 'a b' } },
      message: /^event\.plan\.runId: expected an ECS startedBy/,
    },
    { event: { phase: 'migrate', plan, error: { Error: 'X' } }, message: /^event\.error\.Cause: / },
  ])('refuses $event.phase with a bad field', async ({ event, message }) => {
    await expect(handler(event)).rejects.toThrow(ValidationError);
    await expect(handler(event)).rejects.toThrow(message);
    expect(ecs).not.toHaveReceivedAnyCommand();
  });

  it('stops by the plan it is given', async () => {
    const result = await handler({
      phase: 'migrate',
      plan,
      error: { Error: 'States.Timeout', Cause: 'timed out' },
    });

    expect(result.status).toBe('FAILED');
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: 'us-cluster', startedBy: plan.runId });
  });
});
