import {
  CodeDeployClient,
  CreateDeploymentCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { deploymentRefs } from '../../../lambdas/shared/revisions.js';
import { handler } from '../../../lambdas/start-deployments/handler.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, plan } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);
const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:Deploy:r1';

describe('start-deployments handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('refuses an event whose plan lacks its runId, naming the field, before calling AWS', async () => {
    // Prepare
    const { runId: _, ...withoutRunId } = plan;

    // Act
    const attempt = handler({ state: { plan: withoutRunId, migrate: {} }, executionArn });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.plan\.runId/);
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });

  it('starts the deployments of a valid event, from the whole run state', async () => {
    // Prepare
    codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-new' });

    // Act
    const state = await handler({ state: { plan, release: 'r1' }, executionArn });

    // Assess
    expect(state.status).toBe('RUNNING');
    expect(deploymentRefs(state.deployments)).toHaveLength(4);
  });
});
