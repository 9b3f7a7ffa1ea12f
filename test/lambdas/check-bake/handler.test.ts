import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/check-bake/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config } from '../shared/deployment-fixtures.js';

const cloudwatch = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);

describe('check-bake handler', () => {
  beforeEach(() => {
    cloudwatch.reset();
    serveConfig(ssm, { ...config, bakeSeconds: 0 });
  });

  it('ends the bake of a wave without bake time or alarms at once, naming the next wave', async () => {
    // Act
    const result = await handler({
      state: {
        deployments: { us: { web: 'd-1' } },
        status: 'SUCCEEDED',
        failures: [],
        wave: {
          index: 0,
          of: 2,
          environments: ['us'],
          cutover: 'independent',
          startedAt: '2026-11-26T06:00:00.000Z',
          trafficMovedAt: '2026-11-26T06:05:00.000Z',
        },
      },
    });

    // Assess
    expect(result).toMatchObject({ wave: 0, status: 'SUCCEEDED', nextWave: 1 });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('refuses a state with an unknown status, naming the field', async () => {
    // Act
    const attempt = handler({ state: { deployments: {}, status: 'BAKED', failures: [] } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.status/);
  });
});
