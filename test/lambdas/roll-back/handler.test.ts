import {
  CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentInfo,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/roll-back/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, deployment, plan, serveDeployments } from '../shared/deployment-fixtures.js';
import { captureLogLines } from '../shared/log-lines.js';

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

  describe('logs', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
      vi.restoreAllMocks();
    });

    it('each rollback decision with the status it was decided on, and the outcome', async () => {
      // Prepare
      const lines = captureLogLines();
      const deployments: DeploymentInfo[] = [
        deployment('d-1', 'us', 'web', { status: 'InProgress' }),
        deployment('d-2', 'us', 'worker', { status: 'Succeeded' }),
      ];
      serveDeployments(codedeploy, deployments);
      codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
      codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-rb' });
      const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:r1';

      // Act
      await handler(
        {
          state: {
            release: 'r1',
            images: {},
            plan,
            deploy: { deployments: { us: { web: 'd-1', worker: 'd-2' } }, status: 'FAILED', failures: [] },
          },
          executionArn,
        },
        { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 180_000 },
      );

      // Assess
      expect(lines().map(({ level, message }) => `${level} ${message}`)).toEqual([
        'INFO us/web: stop d-1 (InProgress) with automatic rollback',
        'INFO us/worker: redeploy previous revision us-worker:4 over d-2 (Succeeded) as d-rb',
        'INFO rolling back 2 deployments: RUNNING',
      ]);
      expect(lines()[1]).toMatchObject({
        verb: 'roll-back',
        release: 'r1',
        execution: executionArn,
        requestId: 'req-1',
        environment: 'us',
        service: 'worker',
        action: 'redeploy',
        deploymentStatus: 'Succeeded',
        previousRevision: 'us-worker:4',
      });
    });
  });
});
