import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { decideRetire, retireOldWorkers } from '../../../lambdas/retire-old-workers/core.js';
import { RetireFailedError, TransientError } from '../../../lambdas/shared/errors.js';
import type { DeployState } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps, plan, serveDeployments } from '../shared/deployment-fixtures.js';
import { throttled } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);

describe('decideRetire', () => {
  it.each<[string, Partial<DeploymentInfo> | undefined, boolean, string]>([
    ['succeeded: CodeDeploy terminated the originals', { status: 'Succeeded' }, false, 'none'],
    [
      'InProgress, target Succeeded: in its termination wait',
      { status: 'InProgress' },
      true,
      'continue-deployment',
    ],
    [
      'InProgress, flag set',
      { status: 'InProgress', instanceTerminationWaitTimeStarted: true },
      false,
      'continue-deployment',
    ],
    ['InProgress, traffic not moved', { status: 'InProgress' }, false, 'none'],
    ['Ready before traffic moved', { status: 'Ready' }, false, 'none'],
    ['unknown to CodeDeploy', undefined, false, 'none'],
  ])('%s -> %s', (_name, info, moved, expected) => {
    // Act
    const decision = decideRetire(info, moved);

    // Assess
    expect(decision.action).toBe(expected);
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
    deployments = [];
    serveDeployments(codedeploy, deployments);
    codedeploy.on(ContinueDeploymentCommand).resolves({});
    codedeploy
      .on(ListDeploymentTargetsCommand)
      .callsFake((input: { deploymentId: string }) => ({ targetIds: [`${input.deploymentId}-target`] }));
    // The target of an InProgress deployment Succeeded: traffic moved (containers-roadmap#269).
    codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
    });
  });

  it('ends the termination wait of worker deployments whose traffic moved, read from their target', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'Succeeded' }),
    );

    // Act
    const report = await retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    expect(report.workers).toEqual([
      {
        environment: 'us',
        service: 'worker',
        deploymentId: 'd-us-worker',
        action: 'continue-deployment',
        reason: 'traffic moved; the termination wait was ended',
      },
      {
        environment: 'eu',
        service: 'worker',
        deploymentId: 'd-eu-worker',
        action: 'none',
        reason: 'the deployment already succeeded: CodeDeploy terminated the original tasks',
      },
    ]);
    expect(codedeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
      deploymentId: 'd-us-worker',
      deploymentWaitType: 'TERMINATION_WAIT',
    });
    expect(codedeploy).toHaveReceivedCommandWith(BatchGetDeploymentTargetsCommand, {
      deploymentId: 'd-us-worker',
      targetIds: ['d-us-worker-target'],
    });
  });

  it('retires the current wave’s workers only and keeps the report of the earlier waves', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'Succeeded' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'InProgress' }),
    );
    const earlier = {
      environment: 'us',
      service: 'worker',
      deploymentId: 'd-us-worker',
      action: 'continue-deployment' as const,
      reason: 'traffic moved; the termination wait was ended',
    };
    const secondWave: DeployState = {
      ...deploy,
      wave: {
        index: 1,
        of: 2,
        environments: ['eu'],
        cutover: 'together',
        startedAt: '2026-11-26T10:00:00.000Z',
      },
    };

    // Act
    const report = await retireOldWorkers(makeDeps(), {
      plan,
      deploy: secondWave,
      retire: { workers: [earlier] },
    });

    // Assess
    expect(report.workers).toEqual([
      earlier,
      {
        environment: 'eu',
        service: 'worker',
        deploymentId: 'd-eu-worker',
        action: 'continue-deployment',
        reason: 'traffic moved; the termination wait was ended',
      },
    ]);
    expect(codedeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
      deploymentId: 'd-eu-worker',
      deploymentWaitType: 'TERMINATION_WAIT',
    });
  });

  it('leaves a deployment that finished meanwhile alone', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'Succeeded' }),
    );
    const completed = Object.assign(new Error('done'), { name: 'DeploymentAlreadyCompletedException' });
    codedeploy.on(ContinueDeploymentCommand).rejects(completed);

    // Act
    const report = await retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    expect(report.workers[0]).toMatchObject({ action: 'none', reason: 'the deployment succeeded meanwhile' });
  });

  it('tries every worker and reports the one it could not retire', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'InProgress' }),
    );
    codedeploy
      .on(ContinueDeploymentCommand, { deploymentId: 'd-us-worker' })
      .rejects(new Error('DeploymentIsNotInReadyStateException'));

    // Act
    const attempt = retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    await expect(attempt).rejects.toThrow(RetireFailedError);
    await expect(attempt).rejects.toThrow(/ContinueDeployment on us\/worker \(d-us-worker\) failed/);
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId: 'd-eu-worker' });
  });

  it('raises a TransientError when a ContinueDeployment is throttled, naming the waits already ended', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'InProgress' }),
    );
    codedeploy
      .on(ContinueDeploymentCommand, { deploymentId: 'd-us-worker' })
      .rejects(throttled('ContinueDeployment'));

    // Act
    const attempt = retireOldWorkers(makeDeps(), { plan, deploy });

    // Assess
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(
      /^RetireOldWorkers: ContinueDeployment on us\/worker \(d-us-worker\) failed .*; termination waits already ended: eu\/worker\./,
    );
  });
});
