import { CodeDeployClient, ContinueDeploymentCommand, type DeploymentInfo } from '@aws-sdk/client-codedeploy';
import {
  DescribeTasksCommand,
  type DescribeTasksCommandInput,
  ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { isOldWorkerTask, retireOldWorkers } from '../../../lambdas/retire-old-workers/core.js';
import { RetireFailedError } from '../../../lambdas/shared/errors.js';
import type { DeployState } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps, plan, serveDeployments } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ecs = mockClient(ECSClient);

const TD = 'arn:aws:ecs:us-east-1:000000000000:task-definition';

describe('isOldWorkerTask', () => {
  it.each<[string, Partial<Task>, string, boolean]>([
    [
      'old revision, running',
      { lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:4` },
      'us-worker:5',
      true,
    ],
    [
      'new revision, running',
      { lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:5` },
      'us-worker:5',
      false,
    ],
    [
      'new revision given as an ARN',
      { lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:5` },
      `${TD}/us-worker:5`,
      false,
    ],
    [
      'revision 5 is not revision 15',
      { lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:15` },
      'us-worker:5',
      true,
    ],
    [
      'old revision, still starting',
      { lastStatus: 'PENDING', taskDefinitionArn: `${TD}/us-worker:4` },
      'us-worker:5',
      false,
    ],
    [
      'old revision, already asked to stop',
      { lastStatus: 'RUNNING', desiredStatus: 'STOPPED', taskDefinitionArn: `${TD}/us-worker:4` },
      'us-worker:5',
      false,
    ],
    ['no task definition', { lastStatus: 'RUNNING' }, 'us-worker:5', false],
  ])('%s -> %s', (_name, task, next, expected) => {
    // Act
    const old = isOldWorkerTask(task, next);

    // Assess
    expect(old).toBe(expected);
  });
});

describe('retireOldWorkers', () => {
  let deployments: DeploymentInfo[];
  const deploy: DeployState = {
    status: 'SUCCEEDED',
    failures: [],
    deployments: {
      us: { web: 'd-us-web', worker: 'd-us-worker' },
      eu: { web: 'd-eu-web', worker: 'd-eu-worker' },
    },
  };

  beforeEach(() => {
    codedeploy.reset();
    ecs.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
    codedeploy.on(ContinueDeploymentCommand).resolves({});
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
  });

  it('skips the termination wait of a worker deployment that still holds the old tasks', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', {
        status: 'Ready',
        instanceTerminationWaitTimeStarted: true,
      }),
      deployment('d-eu-worker', 'eu', 'worker', {
        status: 'InProgress',
        instanceTerminationWaitTimeStarted: true,
      }),
    );

    // Act
    const report = await retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    expect(report).toEqual({
      workers: [
        { environment: 'us', service: 'worker', action: 'continue-deployment', stoppedTasks: 0 },
        { environment: 'eu', service: 'worker', action: 'continue-deployment', stoppedTasks: 0 },
      ],
    });
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
      deploymentId: 'd-us-worker',
      deploymentWaitType: 'TERMINATION_WAIT',
    });
    expect(codedeploy).not.toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId: 'd-us-web' });
    expect(ecs).not.toHaveReceivedCommand(StopTaskCommand);
  });

  it('stops the running tasks of an old revision once the deployment succeeded', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'Succeeded' }),
      deployment('d-eu-worker', 'eu', 'worker', {
        status: 'Ready',
        instanceTerminationWaitTimeStarted: true,
      }),
    );
    const tasks: Task[] = [
      { taskArn: 't-old', lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:4` },
      { taskArn: 't-new', lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:5` },
      { taskArn: 't-older', lastStatus: 'RUNNING', taskDefinitionArn: `${TD}/us-worker:3` },
    ];
    ecs
      .on(ListTasksCommand, { cluster: 'us-cluster', serviceName: 'us-worker' })
      .resolvesOnce({ taskArns: ['t-old', 't-new'], nextToken: 'page-2' })
      .resolves({ taskArns: ['t-older'] });
    ecs.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({
      tasks: tasks.filter((t) => input.tasks?.includes(t.taskArn ?? '')),
    }));

    // Act
    const report = await retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    expect(report.workers).toEqual([
      { environment: 'us', service: 'worker', action: 'stop-tasks', stoppedTasks: 2 },
      { environment: 'eu', service: 'worker', action: 'continue-deployment', stoppedTasks: 0 },
    ]);
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 2);
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: 'us-cluster',
      task: 't-older',
      reason: 'stepdeploy: old worker retired by release r1',
    });
    expect(ecs).not.toHaveReceivedCommandWith(StopTaskCommand, { task: 't-new' });
  });

  it('tries every worker and reports the one it could not retire', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', {
        status: 'Ready',
        instanceTerminationWaitTimeStarted: true,
      }),
      deployment('d-eu-worker', 'eu', 'worker', {
        status: 'Ready',
        instanceTerminationWaitTimeStarted: true,
      }),
    );
    codedeploy
      .on(ContinueDeploymentCommand, { deploymentId: 'd-us-worker' })
      .rejects(new Error('DeploymentIsNotInReadyStateException'));

    // Act
    const attempt = retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    await expect(attempt).rejects.toThrow(RetireFailedError);
    await expect(attempt).rejects.toThrow(/us\/worker \(service us-worker on us-cluster\)/);
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId: 'd-eu-worker' });
  });
});
