import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { EXECUTION_ARN, testConfig } from '../shared/fixtures.js';

const events = mockClient(EventBridgeClient);
const ssm = mockClient(SSMClient);
let handler: typeof import('../../../lambdas/announce/handler.js').handler;

describe('announce handler', () => {
  beforeAll(async () => {
    serveConfig(ssm, testConfig());
    ({ handler } = await import('../../../lambdas/announce/handler.js'));
  });

  beforeEach(() => {
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
  });

  it('announces a run whose input was rejected, whatever that input held', async () => {
    // Prepare
    const state = {
      release: 42,
      images: 'nope',
      environments: 'us',
      error: {
        Error: 'ValidationError',
        Cause: 'input.release: expected a string of 1-64 of A-Z a-z 0-9 . _ -, got 42',
      },
    };

    // Act
    const announcement = await handler({ state, executionArn: EXECUTION_ARN });

    // Assess
    expect(announcement).toMatchObject({
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'ValidationError',
    });
    expect(announcement.cause).toContain('input.release: expected a string');
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it.each([
    { event: { state: {} }, message: /^event\.executionArn: / },
    {
      event: { state: { migrate: { phase: 'migrate' } }, executionArn: EXECUTION_ARN },
      message: /^event\.state\.migrate\.tasks: /,
    },
  ])('refuses an event with a bad field: $message', async ({ event, message }) => {
    await expect(handler(event)).rejects.toThrow(ValidationError);
    await expect(handler(event)).rejects.toThrow(message);
    expect(events).not.toHaveReceivedAnyCommand();
  });
});
