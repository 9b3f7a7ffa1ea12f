import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/roll-back/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, plan } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);

describe('roll-back handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('refuses a run state without a plan, naming the field', async () => {
    // Act
    const attempt = handler({ state: { release: 'r1', images: {} } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.plan/);
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });

  it('reads the plan and deployments from the whole run state', async () => {
    // Act
    const result = await handler({
      state: { release: 'r1', images: {}, plan, deploy: { deployments: {}, status: 'FAILED', failures: [] } },
    });

    // Assess
    expect(result).toEqual({ rollbacks: [], status: 'SUCCEEDED' });
  });
});
