import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/check-rollbacks/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);

describe('check-rollbacks handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('refuses a rollback with an unknown action, naming the field', async () => {
    // Prepare
    const state = {
      rollbacks: [{ environment: 'us', service: 'web', deploymentId: 'd-1', action: 'revert' }],
      status: 'RUNNING',
    };

    // Act
    const attempt = handler({ state });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.rollbacks\[0\]\.action/);
  });

  it('reports SUCCEEDED without a call when nothing had to roll back', async () => {
    // Prepare
    const state = {
      rollbacks: [
        { environment: 'us', service: 'web', deploymentId: 'd-1', action: 'none', status: 'Failed' },
      ],
      status: 'RUNNING',
    };

    // Act
    const result = await handler({ state });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });
});
