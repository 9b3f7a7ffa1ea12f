import { createHash } from 'node:crypto';
import {
  CodeDeployClient,
  CreateDeploymentCommand,
  type CreateDeploymentCommandInput,
  type DeploymentInfo,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DeploymentFailedError,
  ForeignDeploymentError,
  PreviousDeploymentFinishingError,
  TransientError,
  ValidationError,
} from '../../../lambdas/shared/errors.js';
import type { Watch } from '../../../lambdas/shared/lambda-context.js';
import { deploymentMarker } from '../../../lambdas/shared/markers.js';
import type { PlanAndDeploy } from '../../../lambdas/shared/schemas.js';
import type { DeployState, Plan } from '../../../lambdas/shared/types.js';
import { nextWaveOf, startDeployments } from '../../../lambdas/start-deployments/core.js';
import { deployment, makeDeps, plan, STARTED_AT, serveDeployments } from '../shared/deployment-fixtures.js';
import { throttled } from '../shared/fixtures.js';

/** The plan in two waves: `us` first, then `eu`, which cuts over together. */
const wavePlan: Plan = {
  ...plan,
  waves: [
    { environments: ['us'], cutover: 'independent' },
    { environments: ['eu'], cutover: 'together' },
  ],
};

/** The state once the first wave of `wavePlan` deployed. */
const firstWave: DeployState = {
  deployments: { us: { web: 'd-us-web-dg', worker: 'd-us-worker-dg' } },
  status: 'SUCCEEDED',
  failures: [],
  wave: {
    index: 0,
    of: 2,
    environments: ['us'],
    cutover: 'independent',
    startedAt: '2026-11-26T06:01:00.000Z',
    trafficMovedAt: '2026-11-26T06:05:00.000Z',
  },
};

const codedeploy = mockClient(CodeDeployClient);

function createdInputs(): CreateDeploymentCommandInput[] {
  return codedeploy.commandCalls(CreateDeploymentCommand).map((call) => call.args[0].input);
}

describe('startDeployments', () => {
  let deployments: DeploymentInfo[];

  beforeEach(() => {
    codedeploy.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
    codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => ({
      deploymentId: `d-${input.deploymentGroupName}`,
    }));
  });

  it('creates one deployment per environment and service, marked with the release', async () => {
    // Act
    const state = await startDeployments(makeDeps(), { plan });

    // Assess
    expect(state).toEqual({
      status: 'RUNNING',
      failures: [],
      deployments: {
        us: { web: 'd-us-web-dg', worker: 'd-us-worker-dg' },
        eu: { web: 'd-eu-web-dg', worker: 'd-eu-worker-dg' },
      },
      wave: {
        index: 0,
        of: 1,
        environments: ['us', 'eu'],
        cutover: 'independent',
        startedAt: new Date(Date.parse(STARTED_AT) + 60_000).toISOString(),
      },
    });
    expect(codedeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      applicationName: 'eu-app',
      deploymentGroupName: 'eu-worker-dg',
      description: deploymentMarker('r1', 'eu', 'worker'),
    });
  });

  it('writes an AppSpec naming the new revision, container and port, with the sha256 of its content', async () => {
    // Act
    await startDeployments(makeDeps(), { plan });

    // Assess
    const input = createdInputs().find((i) => i.deploymentGroupName === 'us-worker-dg');
    const appSpec = input?.revision?.appSpecContent;
    expect(input?.revision?.revisionType).toBe('AppSpecContent');
    expect(appSpec?.sha256).toBe(
      createHash('sha256')
        .update(appSpec?.content ?? '')
        .digest('hex'),
    );
    expect(appSpec?.content).toContain('"version":0.0');
    expect(JSON.parse(appSpec?.content ?? '')).toEqual({
      version: 0,
      Resources: [
        {
          TargetService: {
            Type: 'AWS::ECS::Service',
            Properties: {
              TaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/us-worker:5',
              LoadBalancerInfo: { ContainerName: 'app', ContainerPort: 4000 },
            },
          },
        },
      ],
    });
  });

  it('adopts our active deployment instead of creating a second one', async () => {
    // Prepare
    deployments.push(
      deployment('d-ours', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
      }),
    );

    // Act
    const state = await startDeployments(makeDeps(), { plan });

    // Assess
    expect(state.deployments.us.web).toBe('d-ours');
    expect(createdInputs().map((i) => i.deploymentGroupName)).toEqual([
      'us-worker-dg',
      'eu-web-dg',
      'eu-worker-dg',
    ]);
  });

  it('adopts our deployment that already finished when the call is retried', async () => {
    // Prepare
    deployments.push(
      deployment('d-done', 'eu', 'worker', {
        status: 'Succeeded',
        description: deploymentMarker('r1', 'eu', 'worker'),
      }),
    );

    // Act
    const state = await startDeployments(makeDeps(), { plan });

    // Assess
    expect(state.deployments.eu.worker).toBe('d-done');
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 3);
  });

  it('refuses a foreign active deployment before creating any deployment', async () => {
    // Prepare
    deployments.push(
      deployment('d-ours', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
      }),
      deployment('d-hand', 'eu', 'worker', {
        status: 'Ready',
        creator: 'user',
        description: 'hotfix',
        createTime: new Date('2026-11-25T00:00:00Z'),
      }),
    );

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess
    await expect(attempt).rejects.toThrow(ForeignDeploymentError);
    await expect(attempt).rejects.toThrow(/eu-app\/eu-worker-dg.*d-hand.*creator user/);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('treats an active CodeDeploy rollback carrying our marker as foreign', async () => {
    // Prepare
    deployments.push(
      deployment('d-auto-rb', 'us', 'web', {
        status: 'InProgress',
        creator: 'codeDeployRollback',
        description: deploymentMarker('r1', 'us', 'web'),
        rollbackInfo: { rollbackTriggeringDeploymentId: 'd-ours' },
      }),
    );

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess
    await expect(attempt).rejects.toThrow(/d-auto-rb.*creator codeDeployRollback/);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('treats an active deployment of another release as foreign', async () => {
    // Prepare
    deployments.push(
      deployment('d-r0', 'us', 'worker', {
        status: 'Created',
        description: deploymentMarker('r0', 'us', 'worker'),
      }),
    );

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess
    await expect(attempt).rejects.toThrow(ForeignDeploymentError);
    await expect(attempt).rejects.toThrow(
      "us-app/us-worker-dg (us/worker, us-east-1) has active deployment d-r0 of stepdeploy release r0 (status Created): wait for that release's run to finish, or stop it",
    );
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('says how to end the termination wait of a deployment that appeared after Plan', async () => {
    // Prepare
    deployments.push(
      deployment('d-r0', 'eu', 'web', {
        status: 'Ready',
        instanceTerminationWaitTimeStarted: true,
        description: deploymentMarker('r0', 'eu', 'web'),
      }),
    );

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess
    await expect(attempt).rejects.toThrow(ForeignDeploymentError);
    await expect(attempt).rejects.toThrow(
      /^Release r1 started no deployment \(its pre-deploy steps and migrations, if any, already ran\): .*eu-app\/eu-web-dg .*d-r0 of stepdeploy release r0 in its termination wait.*`aws deploy continue-deployment --deployment-id d-r0 --deployment-wait-type TERMINATION_WAIT --region eu-west-1`/,
    );
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('fails with DeploymentFailedError naming what exists when one create fails after others', async () => {
    // Prepare
    codedeploy
      .on(CreateDeploymentCommand, { deploymentGroupName: 'eu-web-dg' })
      .rejects(new Error('DeploymentLimitExceededException'));

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess
    await expect(attempt).rejects.toThrow(DeploymentFailedError);
    await expect(attempt).rejects.toThrow(/eu-app\/eu-web-dg.*us\/web d-us-web-dg/);
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 4);
  });

  it('raises a TransientError naming the call, the group and what was created when a create is throttled', async () => {
    // Prepare: the SDK's retries of eu/web's CreateDeployment are spent.
    codedeploy
      .on(CreateDeploymentCommand, { deploymentGroupName: 'eu-web-dg' })
      .rejects(throttled('CreateDeployment'));

    // Act
    const attempt = startDeployments(makeDeps(), { plan });

    // Assess: the state machine runs StartDeployments again, which adopts the three and creates eu/web.
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(
      /^StartDeployments: CreateDeployment on eu\/web \(eu-app\/eu-web-dg\) failed \(ThrottlingException: Rate exceeded \(CreateDeployment\)\) after the SDK's retries; already created: us\/web d-us-web-dg, us\/worker d-us-worker-dg, eu\/worker d-eu-worker-dg\./,
    );
  });

  it('raises a TransientError having created nothing when looking at the groups is throttled', async () => {
    codedeploy.on(ListDeploymentsCommand).rejects(throttled('ListDeployments'));

    const attempt = startDeployments(makeDeps(), { plan });

    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(
      /^StartDeployments: ListDeployments on (us|eu)\/(web|worker) .*; no deployment was created yet\./,
    );
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it.each<[string, Pick<PlanAndDeploy, 'bake'>, number]>([
    ['no bake yet', {}, 0],
    [
      'a bake that names the next wave',
      { bake: { wave: 0, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 1 } },
      1,
    ],
    ['a bake of the last wave', { bake: { wave: 1, status: 'SUCCEEDED', until: '', alarms: [] } }, 0],
  ])('deploys wave %s → %i', (_what, run, wave) => {
    expect(nextWaveOf(run)).toBe(wave);
  });

  it('deploys the first wave only, and records it', async () => {
    // Act
    const state = await startDeployments(makeDeps(), { plan: wavePlan });

    // Assess
    expect(createdInputs().map((i) => i.deploymentGroupName)).toEqual(['us-web-dg', 'us-worker-dg']);
    expect(state.deployments).toEqual({ us: { web: 'd-us-web-dg', worker: 'd-us-worker-dg' } });
    expect(state.wave).toMatchObject({ index: 0, of: 2, environments: ['us'], cutover: 'independent' });
  });

  it('deploys the wave the bake named, keeping the deployments of the earlier waves', async () => {
    // Act
    const state = await startDeployments(makeDeps(), {
      plan: wavePlan,
      deploy: firstWave,
      bake: { wave: 0, status: 'SUCCEEDED', until: '2026-11-26T06:06:00.000Z', alarms: [], nextWave: 1 },
    });

    // Assess
    expect(createdInputs().map((i) => i.deploymentGroupName)).toEqual(['eu-web-dg', 'eu-worker-dg']);
    expect(state).toMatchObject({
      status: 'RUNNING',
      deployments: {
        us: { web: 'd-us-web-dg', worker: 'd-us-worker-dg' },
        eu: { web: 'd-eu-web-dg', worker: 'd-eu-worker-dg' },
      },
      wave: { index: 1, of: 2, environments: ['eu'], cutover: 'together' },
    });
    expect(state.wave?.trafficMovedAt).toBeUndefined();
  });

  it('dates a wave an earlier attempt started from its first deployment, so its alarms count from then', async () => {
    // Prepare
    deployments.push(
      deployment('d-ours', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
        createTime: new Date('2026-11-26T06:00:30.000Z'),
      }),
    );

    // Act
    const state = await startDeployments(makeDeps(), { plan: wavePlan });

    // Assess
    expect(state.wave?.startedAt).toBe('2026-11-26T06:00:30.000Z');
  });

  it('fails a later wave with a foreign deployment as DeploymentFailedError: the earlier waves are rolled back', async () => {
    // Prepare
    deployments.push(deployment('d-hand', 'eu', 'web', { status: 'InProgress', description: 'hotfix' }));

    // Act
    const attempt = startDeployments(makeDeps(), {
      plan: wavePlan,
      deploy: firstWave,
      bake: { wave: 0, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 1 },
    });

    // Assess
    await expect(attempt).rejects.toThrow(DeploymentFailedError);
    await expect(attempt).rejects.toThrow(/started no deployment of wave 2 of 2 \(eu\).*d-hand/);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('refuses a wave the plan does not have', async () => {
    // Act
    const attempt = startDeployments(makeDeps(), {
      plan: wavePlan,
      bake: { wave: 1, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 2 },
    });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/wave 2 does not exist; the plan has 2 wave/);
  });

  describe("a group still finishing an earlier release's deployment whose wait Plan ended", () => {
    const continued = { ...plan, endedWaits: [{ release: 'r0', deployments: { eu: { web: 'd-r0' } } }] };
    const limitExceeded = () =>
      Object.assign(new Error('The deployment group already has an active deployment d-r0'), {
        name: 'DeploymentLimitExceededException',
      });
    /** d-r0 of r0 on eu/web, terminating its original tasks: InProgress, and no longer in its wait. */
    const finishing = () =>
      deployment('d-r0', 'eu', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r0', 'eu', 'web'),
      });
    /** A watch that allows `sleeps` more sleeps. */
    const watchFor = (sleeps: number): Watch => {
      let left = sleeps;
      return { allows: () => left-- > 0 };
    };

    it('waits for it within the invocation, then creates the deployment', async () => {
      // Prepare: CodeDeploy refuses the group while d-r0 is active, twice.
      const earlier = finishing();
      deployments.push(earlier);
      let refusals = 0;
      codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
        if (input.deploymentGroupName === 'eu-web-dg' && earlier.status === 'InProgress') {
          refusals += 1;
          if (refusals === 2) earlier.status = 'Succeeded';
          throw limitExceeded();
        }
        return { deploymentId: `d-${input.deploymentGroupName}` };
      });
      const deps = makeDeps();

      // Act
      const state = await startDeployments(deps, { plan: continued }, watchFor(5));

      // Assess
      expect(state.deployments.eu?.web).toBe('d-eu-web-dg');
      expect(refusals).toBe(2);
      expect(deps.clock.sleeps).toEqual([5000, 5000]);
    });

    it('raises the retryable PreviousDeploymentFinishingError once its time is up, keeping what it created', async () => {
      // Prepare
      deployments.push(finishing());
      codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
        if (input.deploymentGroupName === 'eu-web-dg') throw limitExceeded();
        return { deploymentId: `d-${input.deploymentGroupName}` };
      });

      // Act
      const attempt = startDeployments(makeDeps(), { plan: continued }, watchFor(2));

      // Assess
      await expect(attempt).rejects.toThrow(PreviousDeploymentFinishingError);
      await expect(attempt).rejects.toThrow(
        /^Release r1: eu-app\/eu-web-dg \(eu\/web\) still finish an earlier release's deployment .*Created so far: us\/web d-us-web-dg, us\/worker d-us-worker-dg, eu\/worker d-eu-worker-dg; the retry adopts them/,
      );
    });

    it('adopts on the retry what the first attempt created, and creates the rest', async () => {
      // Prepare: the first attempt created every group but eu/web, which is free now.
      const earlier = finishing();
      earlier.status = 'Succeeded';
      deployments.push(earlier);
      for (const [environment, service] of [
        ['us', 'web'],
        ['us', 'worker'],
        ['eu', 'worker'],
      ]) {
        deployments.push(
          deployment(`d-${environment}-${service}-dg`, environment, service, {
            description: deploymentMarker('r1', environment, service),
          }),
        );
      }

      // Act
      const state = await startDeployments(makeDeps(), { plan: continued }, watchFor(0));

      // Assess
      expect(state.deployments).toEqual({
        us: { web: 'd-us-web-dg', worker: 'd-us-worker-dg' },
        eu: { web: 'd-eu-web-dg', worker: 'd-eu-worker-dg' },
      });
      expect(createdInputs().map((input) => input.deploymentGroupName)).toEqual(['eu-web-dg']);
    });

    it('fails as before when the group is taken by anything else', async () => {
      // Prepare: someone deployed by hand between the survey and the create.
      deployments.push(finishing());
      codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
        if (input.deploymentGroupName === 'eu-web-dg') {
          deployments.push(deployment('d-hand', 'eu', 'web', { description: 'hotfix' }));
          throw limitExceeded();
        }
        return { deploymentId: `d-${input.deploymentGroupName}` };
      });

      // Act
      const attempt = startDeployments(makeDeps(), { plan: continued }, watchFor(5));

      // Assess
      await expect(attempt).rejects.toThrow(DeploymentFailedError);
      await expect(attempt).rejects.toThrow(
        /CreateDeployment on eu\/web \(eu-app\/eu-web-dg\) failed \(DeploymentLimitExceededException/,
      );
    });

    it('still refuses a foreign deployment Plan did not end', async () => {
      // Prepare
      deployments.push(finishing(), deployment('d-other', 'us', 'web', { description: 'hotfix' }));

      // Act
      const attempt = startDeployments(makeDeps(), { plan: continued }, watchFor(5));

      // Assess
      await expect(attempt).rejects.toThrow(ForeignDeploymentError);
      await expect(attempt).rejects.toThrow(/d-other/);
      await expect(attempt).rejects.not.toThrow(/d-r0/);
      expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    });
  });
});
