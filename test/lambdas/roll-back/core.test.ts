import {
  CodeDeployClient,
  CreateDeploymentCommand,
  type CreateDeploymentCommandInput,
  DeploymentAlreadyCompletedException,
  type DeploymentInfo,
  DeploymentLimitExceededException,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { rollBack, rollbackScopeOf, wavesToSearch } from '../../../lambdas/roll-back/core.js';
import type { RollBackRun } from '../../../lambdas/roll-back/schema.js';
import { RollbackFailedError, TransientError } from '../../../lambdas/shared/errors.js';
import { deploymentMarker, rollbackMarker } from '../../../lambdas/shared/markers.js';
import { deploymentIds } from '../../../lambdas/shared/revisions.js';
import type { DeploymentRef, DeployState, Plan, PlannedWave } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps, plan, serveDeployments } from '../shared/deployment-fixtures.js';
import { throttled } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);

function ref(environment: string, service: string, deploymentId: string): DeploymentRef {
  return { environment, service, deploymentId };
}

describe('rollBack', () => {
  let deployments: DeploymentInfo[];

  beforeEach(() => {
    codedeploy.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
      const created = deployment(`d-rb-${deployments.length}`, 'us', 'web', {
        applicationName: input.applicationName,
        deploymentGroupName: input.deploymentGroupName,
        description: input.description,
        status: 'Created',
        createTime: new Date('2026-11-26T07:00:00Z'),
      });
      deployments.push(created);
      return { deploymentId: created.deploymentId };
    });
  });

  it('stops, redeploys, adopts or leaves each deployment by where it stands', async () => {
    // Prepare
    deployments.push(
      deployment('d-1', 'us', 'web', { status: 'InProgress', instanceTerminationWaitTimeStarted: true }),
      deployment('d-2', 'us', 'worker', { status: 'Succeeded' }),
      deployment('d-3', 'eu', 'web', { status: 'Failed', rollbackInfo: { rollbackDeploymentId: 'd-cd-rb' } }),
      deployment('d-4', 'eu', 'worker', { status: 'Stopped' }),
    );
    const refs = [
      ref('us', 'web', 'd-1'),
      ref('us', 'worker', 'd-2'),
      ref('eu', 'web', 'd-3'),
      ref('eu', 'worker', 'd-4'),
    ];

    // Act
    const state = await rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds(refs), status: 'FAILED', failures: [] },
    });

    // Assess
    expect(state).toEqual({
      status: 'RUNNING',
      rollbacks: [
        { ...refs[0], action: 'stop', deploymentStatus: 'InProgress' },
        { ...refs[1], action: 'redeploy', deploymentStatus: 'Succeeded', rollbackDeploymentId: 'd-rb-4' },
        { ...refs[2], action: 'adopt', deploymentStatus: 'Failed', rollbackDeploymentId: 'd-cd-rb' },
        { ...refs[3], action: 'none', deploymentStatus: 'Stopped', status: 'Stopped' },
      ],
    });
    expect(codedeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, {
      deploymentId: 'd-1',
      autoRollbackEnabled: true,
    });
    expect(codedeploy).toHaveReceivedCommandExactlyOnceWith(CreateDeploymentCommand, {
      applicationName: 'us-app',
      deploymentGroupName: 'us-worker-dg',
      description: rollbackMarker('r1', 'us', 'worker'),
    });
    const content =
      codedeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input.revision?.appSpecContent?.content;
    expect(content).toContain(
      '"TaskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/us-worker:4"',
    );
  });

  it('does not duplicate a rollback deployment when retried', async () => {
    // Prepare
    deployments.push(deployment('d-2', 'us', 'worker', { status: 'Succeeded' }));
    const run = {
      plan,
      deploy: {
        deployments: deploymentIds([ref('us', 'worker', 'd-2')]),
        status: 'FAILED' as const,
        failures: [],
      },
    };
    const first = await rollBack(makeDeps(), run);

    // Act
    const second = await rollBack(makeDeps(), run);

    // Assess
    expect(second).toEqual(first);
    expect(second.rollbacks[0].rollbackDeploymentId).toBe('d-rb-1');
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  it('finds the deployments by marker, not their CodeDeploy rollbacks, when StartDeployments did not return', async () => {
    // Prepare
    deployments.push(
      deployment('d-ours', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
      }),
      deployment('d-older-run', 'us', 'worker', {
        status: 'Succeeded',
        description: deploymentMarker('r1', 'us', 'worker'),
        createTime: new Date('2026-11-20T00:00:00Z'),
      }),
      deployment('d-other-release', 'eu', 'web', {
        status: 'Succeeded',
        description: deploymentMarker('r0', 'eu', 'web'),
      }),
      deployment('d-codedeploy-rollback', 'us', 'web', {
        status: 'Succeeded',
        creator: 'codeDeployRollback',
        description: deploymentMarker('r1', 'us', 'web'),
        rollbackInfo: { rollbackTriggeringDeploymentId: 'd-earlier' },
        createTime: new Date('2026-11-26T08:00:00Z'),
      }),
    );

    // Act
    const state = await rollBack(makeDeps(), { plan });

    // Assess
    expect(state).toEqual({
      status: 'RUNNING',
      rollbacks: [{ ...ref('us', 'web', 'd-ours'), action: 'stop', deploymentStatus: 'InProgress' }],
    });
    expect(codedeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('is SUCCEEDED at once when no deployment moved traffic', async () => {
    // Prepare
    deployments.push(deployment('d-4', 'eu', 'worker', { status: 'Failed' }));

    // Act
    const state = await rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds([ref('eu', 'worker', 'd-4')]), status: 'FAILED', failures: [] },
    });

    // Assess
    expect(state).toEqual({
      status: 'SUCCEEDED',
      rollbacks: [
        { ...ref('eu', 'worker', 'd-4'), action: 'none', deploymentStatus: 'Failed', status: 'Failed' },
      ],
    });
  });

  it('is FAILED at once when CodeDeploy does not know a recorded deployment', async () => {
    // Act
    const state = await rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds([ref('eu', 'web', 'd-gone')]), status: 'FAILED', failures: [] },
    });

    // Assess
    expect(state).toEqual({
      status: 'FAILED',
      rollbacks: [{ ...ref('eu', 'web', 'd-gone'), action: 'none', status: 'Missing' }],
    });
  });

  // CodeDeploy answers DeploymentLimitExceededException to a CreateDeployment on a group that has
  // an active deployment (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html);
  // two cleanups of one run (EventBridge delivers at least once) both look, then both create.
  it('adopts the rollback deployment another cleanup created between its look and its create', async () => {
    // Prepare
    deployments.push(deployment('d-2', 'us', 'worker', { status: 'Succeeded' }));
    codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
      deployments.push(
        deployment('d-other-cleanup', 'us', 'worker', {
          applicationName: input.applicationName,
          deploymentGroupName: input.deploymentGroupName,
          description: input.description,
          status: 'InProgress',
          createTime: new Date('2026-11-26T07:00:00Z'),
        }),
      );
      throw new DeploymentLimitExceededException({
        message: 'The deployment group has an active deployment.',
        $metadata: {},
      });
    });

    // Act
    const state = await rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds([ref('us', 'worker', 'd-2')]), status: 'FAILED', failures: [] },
    });

    // Assess
    expect(state).toEqual({
      status: 'RUNNING',
      rollbacks: [
        {
          ...ref('us', 'worker', 'd-2'),
          action: 'redeploy',
          deploymentStatus: 'Succeeded',
          rollbackDeploymentId: 'd-other-cleanup',
        },
      ],
    });
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  it('fails a redeploy refused for a deployment that is not its own rollback', async () => {
    // Prepare: someone else's deployment took the group.
    deployments.push(deployment('d-2', 'us', 'worker', { status: 'Succeeded' }));
    codedeploy
      .on(CreateDeploymentCommand)
      .rejects(new DeploymentLimitExceededException({ message: 'active deployment', $metadata: {} }));

    // Act
    const attempt = rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds([ref('us', 'worker', 'd-2')]), status: 'FAILED', failures: [] },
    });

    // Assess
    await expect(attempt).rejects.toThrow(RollbackFailedError);
  });

  it('redeploys a deployment that succeeded between the look and the stop', async () => {
    // Prepare
    const racing = deployment('d-1', 'us', 'web', { status: 'InProgress' });
    deployments.push(racing);
    codedeploy.on(StopDeploymentCommand).callsFake(() => {
      racing.status = 'Succeeded';
      throw new DeploymentAlreadyCompletedException({ message: 'already completed', $metadata: {} });
    });

    // Act
    const state = await rollBack(makeDeps(), {
      plan,
      deploy: { deployments: deploymentIds([ref('us', 'web', 'd-1')]), status: 'FAILED', failures: [] },
    });

    // Assess
    expect(state.rollbacks).toEqual([
      // Decided again from where it ended: Succeeded, so redeployed.
      {
        ...ref('us', 'web', 'd-1'),
        action: 'redeploy',
        deploymentStatus: 'Succeeded',
        rollbackDeploymentId: 'd-rb-1',
      },
    ]);
    expect(codedeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      description: rollbackMarker('r1', 'us', 'web'),
    });
  });

  it('attempts every rollback and names the ones that could not start', async () => {
    // Prepare
    deployments.push(
      deployment('d-1', 'us', 'web', { status: 'InProgress' }),
      deployment('d-2', 'us', 'worker', { status: 'Succeeded' }),
    );
    codedeploy.on(CreateDeploymentCommand).rejects(new Error('DeploymentLimitExceededException'));

    // Act
    const attempt = rollBack(makeDeps(), {
      plan,
      deploy: {
        deployments: deploymentIds([ref('us', 'web', 'd-1'), ref('us', 'worker', 'd-2')]),
        status: 'FAILED',
        failures: [],
      },
    });

    // Assess
    await expect(attempt).rejects.toThrow(RollbackFailedError);
    await expect(attempt).rejects.toThrow(/us\/worker \(deployment d-2\)/);
    expect(codedeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
  });

  it('raises a TransientError naming the throttled call and the rollbacks already begun', async () => {
    // Prepare
    deployments.push(
      deployment('d-1', 'us', 'web', { status: 'InProgress' }),
      deployment('d-2', 'us', 'worker', { status: 'Succeeded' }),
    );
    codedeploy.on(CreateDeploymentCommand).rejects(throttled('CreateDeployment'));

    // Act
    const attempt = rollBack(makeDeps(), {
      plan,
      deploy: {
        deployments: deploymentIds([ref('us', 'web', 'd-1'), ref('us', 'worker', 'd-2')]),
        status: 'FAILED',
        failures: [],
      },
    });

    // Assess: the retry adopts the stop, and creates the redeploy (or finds it by its marker).
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(
      /^RollBack: CreateDeployment on us\/worker \(deployment d-2\) \(us-app\/us-worker-dg\) failed \(ThrottlingException.*; rollbacks already begun: us\/web stop\./,
    );
  });
});

const WAVES: PlannedWave[] = [
  { environments: ['us'], cutover: 'independent' },
  { environments: ['eu'], cutover: 'together' },
];
const wavePlan: Plan = { ...plan, waves: WAVES };

/** The deployments' state at wave `index` of `wavePlan`. */
function atWave(index: number, deployments: DeployState['deployments']): DeployState {
  return {
    deployments,
    status: 'FAILED',
    failures: [],
    wave: {
      index,
      of: 2,
      environments: WAVES[index]?.environments ?? [],
      cutover: 'independent',
      startedAt: '2026-11-26T06:01:00.000Z',
    },
  };
}

describe('wavesToSearch', () => {
  it.each<[string, Partial<RollBackRun>, boolean, number[]]>([
    ['nothing recorded: the first wave', {}, false, [0]],
    ['a wave recorded that failed its check', { deploy: atWave(0, {}) }, false, []],
    [
      'the next wave was starting (its bake named it)',
      { deploy: atWave(0, {}), bake: { wave: 0, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 1 } },
      false,
      [1],
    ],
    [
      'a stale bake of an earlier wave',
      { deploy: atWave(1, {}), bake: { wave: 0, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 1 } },
      false,
      [],
    ],
    ['the cleanup, which cannot tell how far the run got', { deploy: atWave(0, {}) }, true, [1]],
    ['the cleanup with nothing recorded', {}, true, [0, 1]],
  ])('%s → %j', (_name, run, laterWaves, expected) => {
    expect(wavesToSearch({ plan: wavePlan, ...run }, 2, laterWaves)).toEqual(expected);
  });
});

describe('rollbackScopeOf', () => {
  const us = ref('us', 'web', 'd-us');
  const eu = ref('eu', 'web', 'd-eu');

  it.each<[string, 'all' | 'wave', DeploymentRef[], number, DeploymentRef[], string[]]>([
    ['all: every wave released so far', 'all', [us, eu], 1, [us, eu], []],
    ['wave: the failing second wave only, the first keeps the release', 'wave', [us, eu], 1, [eu], ['us']],
    ['wave: the first wave failed', 'wave', [us], 0, [us], []],
    ['wave: the second wave was starting and made one deployment', 'wave', [us, eu], 0, [eu], ['us']],
    ['wave: the second wave made none', 'wave', [us], 1, [], ['us']],
  ])('%s', (_name, scope, refs, recorded, rolledBack, kept) => {
    expect(rollbackScopeOf(scope, WAVES, refs, recorded)).toEqual({ refs: rolledBack, kept });
  });
});

describe('rollBack in waves', () => {
  let deployments: DeploymentInfo[];

  beforeEach(() => {
    codedeploy.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
    codedeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-rb' });
  });

  it('rolls back the released first wave and the second wave it was starting, found by marker', async () => {
    // Prepare: StartDeployments of the second wave created eu/web, then failed.
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'InProgress', instanceTerminationWaitTimeStarted: true }),
      deployment('d-us-worker', 'us', 'worker', { status: 'Succeeded' }),
      deployment('d-eu-web', 'eu', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'eu', 'web'),
      }),
    );

    // Act
    const state = await rollBack(makeDeps(), {
      plan: wavePlan,
      deploy: atWave(0, { us: { web: 'd-us-web', worker: 'd-us-worker' } }),
      bake: { wave: 0, status: 'SUCCEEDED', until: '', alarms: [], nextWave: 1 },
    });

    // Assess
    expect(state.rollbacks.map((r) => [`${r.environment}/${r.service}`, r.action])).toEqual([
      ['us/web', 'stop'],
      ['us/worker', 'redeploy'],
      ['eu/web', 'stop'],
    ]);
    expect(state.kept).toBeUndefined();
  });

  it('with rollbackScope wave, rolls back the failing wave only and names the environments that keep the release', async () => {
    // Prepare
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'Succeeded' }),
      deployment('d-eu-web', 'eu', 'web', { status: 'Ready' }),
      deployment('d-eu-worker', 'eu', 'worker', { status: 'Failed' }),
    );
    const deps = makeDeps();

    // Act
    const state = await rollBack(
      { ...deps, config: { ...deps.config, rollbackScope: 'wave' } },
      {
        plan: wavePlan,
        deploy: atWave(1, {
          us: { web: 'd-us-web' },
          eu: { web: 'd-eu-web', worker: 'd-eu-worker' },
        }),
      },
    );

    // Assess
    expect(state).toEqual({
      status: 'RUNNING',
      kept: ['us'],
      rollbacks: [
        {
          environment: 'eu',
          service: 'web',
          deploymentId: 'd-eu-web',
          deploymentStatus: 'Ready',
          action: 'stop',
        },
        {
          environment: 'eu',
          service: 'worker',
          deploymentId: 'd-eu-worker',
          deploymentStatus: 'Failed',
          action: 'none',
          status: 'Failed',
        },
      ],
    });
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(codedeploy).toHaveReceivedCommandExactlyOnceWith(StopDeploymentCommand, {
      deploymentId: 'd-eu-web',
      autoRollbackEnabled: true,
    });
  });
});
