import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  DeploymentIsNotInReadyStateException,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CutOverAction,
  type CutOverLook,
  cutOver,
  decideCutOver,
} from '../../../lambdas/cut-over/core.js';
import type { DeployState } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps } from '../shared/deployment-fixtures.js';

const codedeploy = mockClient(CodeDeployClient);

/** The second wave, `eu`, cutting over together; `us` went out in the first. */
const state: DeployState = {
  deployments: {
    us: { web: 'd-us-web', worker: 'd-us-worker' },
    eu: { web: 'd-eu-web', worker: 'd-eu-worker' },
  },
  status: 'READY',
  failures: [],
  wave: { index: 1, of: 2, environments: ['eu'], cutover: 'together', startedAt: '2026-11-26T06:01:00.000Z' },
};

const look = (fields: Partial<CutOverLook> = {}): CutOverLook => ({
  trafficMoved: false,
  pastReadyWait: false,
  ...fields,
});

describe('decideCutOver', () => {
  it.each<[string, Partial<DeploymentInfo> | undefined, CutOverLook, CutOverAction]>([
    ['Ready: waits for it', { status: 'Ready' }, look(), 'continue'],
    [
      'InProgress past its ready wait: someone continued it',
      { status: 'InProgress' },
      look({ pastReadyWait: true }),
      'none',
    ],
    [
      'InProgress, traffic moved: an earlier attempt continued it',
      { status: 'InProgress' },
      look({ trafficMoved: true }),
      'none',
    ],
    ['Succeeded', { status: 'Succeeded' }, look(), 'none'],
    ['InProgress before its ready wait: not ready yet', { status: 'InProgress' }, look(), 'wait'],
    ['Created', { status: 'Created' }, look(), 'wait'],
    ['Stopped: its ready wait ran out', { status: 'Stopped' }, look(), 'fail'],
    ['Failed', { status: 'Failed' }, look(), 'fail'],
    ['unknown to CodeDeploy', undefined, look(), 'fail'],
  ])('%s → %s', (_name, info, cutOverLook, action) => {
    expect(
      decideCutOver(info === undefined ? undefined : { deploymentId: 'd-1', ...info }, cutOverLook),
    ).toBe(action);
  });
});

describe('cutOver', () => {
  beforeEach(() => {
    codedeploy.reset();
    codedeploy.on(ContinueDeploymentCommand).resolves({});
  });

  function serve(statuses: Record<string, DeploymentInfo['status']>): void {
    codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => ({
      deploymentsInfo: input.deploymentIds.flatMap((id) =>
        statuses[id] ? [deployment(id, 'eu', 'web', { status: statuses[id] })] : [],
      ),
    }));
  }

  it('continues every deployment of the wave at once, and only those, once all are Ready', async () => {
    // Prepare
    serve({ 'd-eu-web': 'Ready', 'd-eu-worker': 'Ready' });
    const deps = makeDeps();

    // Act
    const result = await cutOver(deps, state);

    // Assess
    expect(codedeploy.commandCalls(ContinueDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { deploymentId: 'd-eu-web', deploymentWaitType: 'READY_WAIT' },
      { deploymentId: 'd-eu-worker', deploymentWaitType: 'READY_WAIT' },
    ]);
    expect(result).toEqual({
      ...state,
      status: 'RUNNING',
      wave: { ...state.wave, cutOverAt: new Date(deps.clock.nowMs()).toISOString() },
    });
  });

  it('continues nothing when one deployment of the wave stopped before the cut-over: no production traffic moves', async () => {
    // Prepare
    serve({ 'd-eu-web': 'Ready', 'd-eu-worker': 'Stopped' });

    // Act
    const result = await cutOver(makeDeps(), state);

    // Assess
    expect(codedeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
    expect(result.status).toBe('FAILED');
    expect(result.failures).toEqual([
      {
        environment: 'eu',
        service: 'worker',
        deploymentId: 'd-eu-worker',
        status: 'Stopped',
        reason: 'deployment stopped before the cut-over',
      },
    ]);
  });

  it('continues nothing while one deployment is not ready yet, and hands the wave back', async () => {
    // Prepare
    serve({ 'd-eu-web': 'Ready', 'd-eu-worker': 'InProgress' });
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['t'] });
    codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          ecsTarget: {
            status: 'InProgress',
            lifecycleEvents: [{ lifecycleEventName: 'AllowTraffic', status: 'Pending' }],
          },
        },
      ],
    });

    // Act
    const result = await cutOver(makeDeps(), state);

    // Assess
    expect(codedeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
    expect(result).toEqual({ ...state, status: 'RUNNING' });
  });

  it('counts a deployment that left Ready because someone else continued it as continued', async () => {
    // Prepare: a retried CutOver, or an operator, got there first.
    let looks = 0;
    codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => {
      looks += 1;
      return {
        deploymentsInfo: input.deploymentIds.map((id) =>
          deployment(id, 'eu', 'web', { status: looks === 1 ? 'Ready' : 'InProgress' }),
        ),
      };
    });
    codedeploy
      .on(ContinueDeploymentCommand, { deploymentId: 'd-eu-worker' })
      .rejects(new DeploymentIsNotInReadyStateException({ message: 'not Ready', $metadata: {} }));
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['t'] });
    codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [
        {
          ecsTarget: {
            status: 'InProgress',
            lifecycleEvents: [{ lifecycleEventName: 'AllowTraffic', status: 'InProgress' }],
          },
        },
      ],
    });

    // Act
    const result = await cutOver(makeDeps(), state);

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(result.wave?.cutOverAt).toBeDefined();
  });

  it('fails the wave when a deployment stopped between the look and its ContinueDeployment', async () => {
    // Prepare: its ready wait ran out just then; the rollback undoes the one that was continued.
    let looks = 0;
    codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => {
      looks += 1;
      return {
        deploymentsInfo: input.deploymentIds.map((id) =>
          deployment(id, 'eu', 'worker', { status: looks === 1 ? 'Ready' : 'Stopped' }),
        ),
      };
    });
    codedeploy
      .on(ContinueDeploymentCommand, { deploymentId: 'd-eu-worker' })
      .rejects(new DeploymentIsNotInReadyStateException({ message: 'not Ready', $metadata: {} }));

    // Act
    const result = await cutOver(makeDeps(), state);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.failures).toEqual([
      expect.objectContaining({
        deploymentId: 'd-eu-worker',
        status: 'Stopped',
        reason: expect.stringContaining(
          'ContinueDeployment READY_WAIT failed: DeploymentIsNotInReadyStateException',
        ),
      }),
    ]);
  });
});
