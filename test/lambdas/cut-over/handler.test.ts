import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/cut-over/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, deployment } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);

describe('cut-over handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('continues the Ready deployments of the wave', async () => {
    // Prepare
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolves({ deploymentsInfo: [deployment('d-1', 'us', 'web', { status: 'Ready' })] });
    codedeploy.on(ContinueDeploymentCommand).resolves({});
    const state = {
      deployments: { us: { web: 'd-1' } },
      status: 'READY',
      failures: [],
      wave: {
        index: 0,
        of: 1,
        environments: ['us'],
        cutover: 'together',
        startedAt: '2026-11-26T06:00:00.000Z',
      },
    };

    // Act
    const result = await handler({ state });

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
      deploymentId: 'd-1',
      deploymentWaitType: 'READY_WAIT',
    });
  });

  it('refuses a state without its deployments, naming the field', async () => {
    // Act
    const attempt = handler({ state: { status: 'READY', failures: [] } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.deployments/);
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });
});
