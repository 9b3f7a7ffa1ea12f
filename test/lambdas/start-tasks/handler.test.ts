import { ECSClient } from '@aws-sdk/client-ecs';
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
let handler: typeof import('../../../lambdas/start-tasks/handler.js').handler;

const plan: Plan = {
  release: 'r1',
  runId: runIdOf(EXECUTION_ARN),
  startedAt: '2026-11-26T07:00:00.000Z',
  account: '123456789012',
  environments: ['us'],
  skipMigrations: true,
  oneOff: { us: 'us-oneoff:2' },
  services: {},
};

describe('start-tasks handler', () => {
  beforeAll(async () => {
    serveConfig(ssm, testConfig());
    ({ handler } = await import('../../../lambdas/start-tasks/handler.js'));
  });

  beforeEach(() => {
    ecs.reset();
  });

  it.each([
    { event: { phase: 'migrate', plan }, message: /^event\.executionArn: / },
    {
      event: { phase: 'migrate', plan: { ...plan, oneOff: { us: 'latest' } }, executionArn: EXECUTION_ARN },
      message: /^event\.plan\.oneOff\.us: expected a task definition revision/,
    },
    { event: { phase: 'warm-up', plan, executionArn: EXECUTION_ARN }, message: /^event\.phase: / },
  ])('refuses a bad event: $message', async ({ event, message }) => {
    await expect(handler(event)).rejects.toThrow(ValidationError);
    await expect(handler(event)).rejects.toThrow(message);
    expect(ecs).not.toHaveReceivedAnyCommand();
  });

  it('succeeds at once when migrations are skipped', async () => {
    const result = await handler({ phase: 'migrate', plan, executionArn: EXECUTION_ARN });

    expect(result).toEqual({ phase: 'migrate', tasks: [], status: 'SUCCEEDED', failures: [] });
  });
});
