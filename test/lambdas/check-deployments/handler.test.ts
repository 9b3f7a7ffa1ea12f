import { BatchGetDeploymentsCommand, CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/check-deployments/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, deployment } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);

describe('check-deployments handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('looks once and returns when the Lambda has no time left to watch', async () => {
    // Prepare
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolves({ deploymentsInfo: [deployment('d-1', 'us', 'web', { createTime: new Date() })] });
    const state = {
      deployments: { us: { web: 'd-1' } },
      status: 'RUNNING',
      failures: [],
    };

    // Act
    const result = await handler({ state }, { getRemainingTimeInMillis: () => 20_000 });

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(codedeploy).toHaveReceivedCommandTimes(BatchGetDeploymentsCommand, 1);
  });

  it('refuses a state with an unknown status, naming the field', async () => {
    // Act
    const attempt = handler({ state: { deployments: {}, status: 'DONE', failures: [] } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.status/);
  });
});
