import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/retire-old-workers/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, plan } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);

describe('retire-old-workers handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    ecs.reset();
    serveConfig(ssm, config);
  });

  it('refuses a plan whose next revision is not family:revision, naming the field', async () => {
    // Prepare
    const broken = { ...plan, services: { us: { worker: [4, 'latest'] } } };

    // Act
    const attempt = handler({ state: { plan: broken } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.plan\.services\.us\.worker\[1\]/);
  });

  it('stops old workers of every worker service when no deployment holds them', async () => {
    // Prepare
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });

    // Act
    const report = await handler({ state: { plan } });

    // Assess
    expect(report.workers).toEqual([
      { environment: 'us', service: 'worker', action: 'stop-tasks', stoppedTasks: 0 },
      { environment: 'eu', service: 'worker', action: 'stop-tasks', stoppedTasks: 0 },
    ]);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      cluster: 'eu-cluster',
      serviceName: 'eu-worker',
    });
  });
});
