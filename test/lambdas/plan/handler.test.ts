import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { EXECUTION_ARN, STATE_MACHINE_ARN, testConfig } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
let handler: typeof import('../../../lambdas/plan/handler.js').handler;

describe('plan handler', () => {
  beforeAll(async () => {
    serveConfig(ssm, testConfig());
    ({ handler } = await import('../../../lambdas/plan/handler.js'));
  });

  beforeEach(() => {
    ecs.reset();
    sfn.reset();
  });

  it.each([
    { event: null, message: /^event: / },
    { event: { input: {}, stateMachineArn: STATE_MACHINE_ARN }, message: /^event\.executionArn: / },
    {
      event: { input: {}, executionArn: EXECUTION_ARN, stateMachineArn: 'Deploy' },
      message: /^event\.stateMachineArn: expected the state machine ARN/,
    },
    {
      event: { input: { release: 'r1' }, executionArn: EXECUTION_ARN, stateMachineArn: STATE_MACHINE_ARN },
      message: /^input\.images: required/,
    },
  ])('refuses $event', async ({ event, message }) => {
    const planned = handler(event);

    await expect(planned).rejects.toThrow(ValidationError);
    await expect(planned).rejects.toThrow(message);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
