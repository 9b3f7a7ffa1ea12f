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

  it.each([[], 'x', 42, null, { release: 'r1', images: 7 }])(
    'announces a run whose input %j Plan refused, the state being the caught error alone',
    async (input) => {
      // Prepare: Plan's Catch writes the error as the whole state, whatever the input's JSON type.
      const state = {
        Error: 'ValidationError',
        Cause: JSON.stringify({
          errorType: 'ValidationError',
          errorMessage: 'input: expected an object with release, images, environments, skipMigrations',
        }),
      };

      // Act
      const announcement = await handler({ state, executionArn: EXECUTION_ARN, input });

      // Assess
      expect(announcement).toMatchObject({
        outcome: 'FAILED',
        detailType: 'Release Failed',
        error: 'ValidationError',
      });
      expect(announcement.cause).toBe(
        'ValidationError: input: expected an object with release, images, environments, skipMigrations',
      );
      const detail = JSON.parse(
        events.commandCalls(PutEventsCommand)[0].args[0].input.Entries?.[0]?.Detail ?? '{}',
      );
      expect(detail.release).toBe(
        typeof input === 'object' && input && 'release' in input ? input.release : null,
      );
    },
  );

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
