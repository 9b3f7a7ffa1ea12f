import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  aggregateRollbacks,
  checkRollbacks,
  type SettledRollback,
  settleRollback,
} from '../../../lambdas/check-rollbacks/core.js';
import { startWatch } from '../../../lambdas/shared/lambda-context.js';
import type { RollbackRef } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps, serveDeployments } from '../shared/deployment-fixtures.js';
import { throttled } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);

const base = { environment: 'us', service: 'web', deploymentId: 'd-1' };
/** A redeploy of eu/worker's previous revision, as d-rb-worker. */
const euWorkerRedeploy: RollbackRef = {
  environment: 'eu',
  service: 'worker',
  deploymentId: 'd-2',
  action: 'redeploy',
  rollbackDeploymentId: 'd-rb-worker',
};

describe('settleRollback', () => {
  it.each<{
    name: string;
    ref: RollbackRef;
    known: Array<Partial<DeploymentInfo>>;
    expected: SettledRollback;
  }>([
    {
      name: 'nothing to roll back',
      ref: { ...base, action: 'none', status: 'Failed' },
      known: [],
      expected: { ref: { ...base, action: 'none', status: 'Failed', back: true }, verdict: 'SUCCEEDED' },
    },
    {
      name: 'nothing to roll back, but CodeDeploy did not know the deployment',
      ref: { ...base, action: 'none', status: 'Missing' },
      known: [],
      expected: { ref: { ...base, action: 'none', status: 'Missing', back: false }, verdict: 'FAILED' },
    },
    {
      name: 'stop still in progress',
      ref: { ...base, action: 'stop' },
      known: [{ deploymentId: 'd-1', status: 'InProgress' }],
      expected: { ref: { ...base, action: 'stop' }, verdict: 'RUNNING' },
    },
    {
      name: 'stopped, rollback deployment learnt and still running',
      ref: { ...base, action: 'stop' },
      known: [
        { deploymentId: 'd-1', status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-rb' } },
        { deploymentId: 'd-rb', status: 'InProgress' },
      ],
      expected: { ref: { ...base, action: 'stop', rollbackDeploymentId: 'd-rb' }, verdict: 'RUNNING' },
    },
    {
      name: 'stopped, rollback deployment succeeded',
      ref: { ...base, action: 'stop' },
      known: [
        { deploymentId: 'd-1', status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-rb' } },
        { deploymentId: 'd-rb', status: 'Succeeded' },
      ],
      expected: {
        ref: { ...base, action: 'stop', rollbackDeploymentId: 'd-rb', status: 'Succeeded', back: true },
        verdict: 'SUCCEEDED',
      },
    },
    {
      name: 'stopped before any traffic moved',
      ref: { ...base, action: 'stop' },
      known: [{ deploymentId: 'd-1', status: 'Stopped' }],
      expected: { ref: { ...base, action: 'stop', status: 'Stopped', back: true }, verdict: 'SUCCEEDED' },
    },
    {
      // StopDeployment is asynchronous: the rollback shows after Stopped
      // (https://github.com/kayac/ecspresso/blob/main/rollback.go waits for both).
      name: 'stopped after traffic moved, its rollback not named yet',
      ref: { ...base, action: 'stop', deploymentId: 'd-2' },
      known: [{ deploymentId: 'd-2', status: 'Stopped' }],
      expected: { ref: { ...base, action: 'stop', deploymentId: 'd-2' }, verdict: 'RUNNING' },
    },
    {
      name: 'stop came too late: the new revision serves',
      ref: { ...base, action: 'stop' },
      known: [{ deploymentId: 'd-1', status: 'Succeeded' }],
      expected: { ref: { ...base, action: 'stop', status: 'Succeeded', back: false }, verdict: 'FAILED' },
    },
    {
      name: 'redeploy of the previous revision moved traffic back and waits to terminate',
      ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb' },
      known: [{ deploymentId: 'd-rb', status: 'InProgress', instanceTerminationWaitTimeStarted: true }],
      expected: {
        ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb', status: 'Succeeded', back: true },
        verdict: 'SUCCEEDED',
      },
    },
    {
      name: 'redeploy of the previous revision still shifting traffic',
      ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb' },
      known: [{ deploymentId: 'd-rb', status: 'Ready' }],
      expected: { ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb' }, verdict: 'RUNNING' },
    },
    {
      name: 'redeploy of the previous revision failed',
      ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb' },
      known: [{ deploymentId: 'd-rb', status: 'Failed' }],
      expected: {
        ref: { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb', status: 'Failed', back: false },
        verdict: 'FAILED',
      },
    },
    {
      name: 'adopted rollback stopped',
      ref: { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb' },
      known: [{ deploymentId: 'd-rb', status: 'Stopped' }],
      expected: {
        ref: { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb', status: 'Stopped', back: false },
        verdict: 'FAILED',
      },
    },
    {
      name: 'adopted rollback not visible yet',
      ref: { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb' },
      known: [],
      expected: { ref: { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb' }, verdict: 'RUNNING' },
    },
    {
      name: 'original unknown to CodeDeploy',
      ref: { ...base, action: 'stop' },
      known: [],
      expected: { ref: { ...base, action: 'stop', status: 'Missing', back: false }, verdict: 'FAILED' },
    },
  ])('$name', ({ ref, known, expected }) => {
    // Prepare
    const byId = new Map(known.map((info) => [info.deploymentId, info]));

    // Act
    const settled = settleRollback(ref, {
      lookup: (id) => byId.get(id),
      trafficMoved: new Set(),
      neverShifted: new Set(['d-1']),
    });

    // Assess
    expect(settled).toEqual(expected);
  });
});

describe('aggregateRollbacks', () => {
  const ref: RollbackRef = { ...base, action: 'stop' };
  it.each<[string[], string]>([
    [[], 'SUCCEEDED'],
    [['SUCCEEDED', 'SUCCEEDED'], 'SUCCEEDED'],
    [['FAILED', 'RUNNING'], 'RUNNING'],
    [['FAILED', 'SUCCEEDED'], 'FAILED'],
  ])('%j -> %s', (verdicts, expected) => {
    // Act
    const status = aggregateRollbacks(verdicts.map((verdict) => ({ ref, verdict }) as SettledRollback));

    // Assess
    expect(status).toBe(expected);
  });
});

describe('checkRollbacks', () => {
  let deployments: DeploymentInfo[];

  beforeEach(() => {
    codedeploy.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
  });

  it('learns the rollback deployment of a stop and follows it until it succeeds', async () => {
    // Prepare
    const deps = makeDeps();
    const original = deployment('d-1', 'us', 'web', { status: 'InProgress' });
    const rollback = deployment('d-rb', 'us', 'web', { status: 'InProgress' });
    deployments.push(original, rollback);
    let sleeps = 0;
    deps.clock.sleep = async () => {
      sleeps++;
      if (sleeps === 1)
        Object.assign(original, { status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-rb' } });
      if (sleeps === 2) rollback.status = 'Succeeded';
    };

    // Act
    const state = await checkRollbacks(
      deps,
      { rollbacks: [{ ...base, action: 'stop' }], status: 'RUNNING' },
      startWatch({ watchSeconds: 50 }, deps.clock),
    );

    // Assess
    expect(state).toEqual({
      status: 'SUCCEEDED',
      rollbacks: [{ ...base, action: 'stop', rollbackDeploymentId: 'd-rb', status: 'Succeeded', back: true }],
    });
    expect(sleeps).toBe(2);
  });

  it('waits for every rollback to end before reporting one that failed', async () => {
    // Prepare
    const deps = makeDeps();
    deployments.push(
      deployment('d-rb-web', 'us', 'web', { status: 'Failed' }),
      deployment('d-rb-worker', 'eu', 'worker', { status: 'InProgress' }),
    );
    const rollbacks: RollbackRef[] = [
      { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb-web' },
      euWorkerRedeploy,
    ];

    // Act
    const state = await checkRollbacks(
      deps,
      { rollbacks, status: 'RUNNING' },
      startWatch({ watchSeconds: 15 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('RUNNING');
    expect(state.rollbacks.map((r) => r.status)).toEqual(['Failed', undefined]);
    expect(deps.clock.sleeps).toEqual([5000, 5000, 5000]);
  });

  it.each<[string, RollbackRef, 'REDEPLOY' | 'FAILED']>([
    [
      "CodeDeploy's rollback failed",
      { ...base, action: 'adopt', rollbackDeploymentId: 'd-rb-web' },
      'REDEPLOY',
    ],
    ['a stop came too late', { ...base, action: 'stop', deploymentId: 'd-late' }, 'REDEPLOY'],
    [
      'the redeploy of the previous revision failed',
      { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb-web' },
      'FAILED',
    ],
  ])('once every rollback ended, when %s: %s', async (_what, failing, status) => {
    // Prepare
    const deps = makeDeps();
    deployments.push(
      deployment('d-rb-web', 'us', 'web', { status: 'Failed' }),
      deployment('d-late', 'us', 'web', { status: 'Succeeded' }),
      deployment('d-rb-worker', 'eu', 'worker', { status: 'Succeeded' }),
    );

    // Act
    const state = await checkRollbacks(
      deps,
      { rollbacks: [failing, euWorkerRedeploy], status: 'RUNNING' },
      startWatch({ watchSeconds: 15 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe(status);
    expect(state.rollbacks.map((r) => r.back)).toEqual([false, true]);
  });

  // The ready option is the group's (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentReadyOption.html):
  // a redeploy on a group of a wave cut over together waits in Ready as the release's deployment did.
  it('continues a redeploy of the previous revision waiting in its ready wait, and only that', async () => {
    // Prepare
    const deps = makeDeps();
    const redeploy = deployment('d-rb', 'us', 'web', { status: 'Ready' });
    deployments.push(redeploy, deployment('d-cd-rb', 'eu', 'web', { status: 'Ready' }));
    codedeploy.on(ContinueDeploymentCommand).callsFake(() => {
      redeploy.status = 'Succeeded';
      return {};
    });

    // Act
    const state = await checkRollbacks(
      deps,
      {
        rollbacks: [
          { ...base, action: 'redeploy', rollbackDeploymentId: 'd-rb' },
          {
            ...base,
            environment: 'eu',
            deploymentId: 'd-2',
            action: 'adopt',
            rollbackDeploymentId: 'd-cd-rb',
          },
        ],
        status: 'RUNNING',
      },
      startWatch({ watchSeconds: 5 }, deps.clock),
    );

    // Assess
    expect(codedeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
      deploymentId: 'd-rb',
      deploymentWaitType: 'READY_WAIT',
    });
    expect(state.rollbacks[0]).toMatchObject({ status: 'Succeeded', back: true });
  });

  it('decides nothing on throttled reads: the rollbacks stay where they were, and it backs off', async () => {
    // Prepare: every read is throttled past the SDK's retries.
    const deps = makeDeps();
    deployments.push(
      deployment('d-1', 'us', 'web', { status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-rb' } }),
      deployment('d-rb', 'us', 'web', { status: 'InProgress' }),
    );
    codedeploy.on(BatchGetDeploymentsCommand).rejects(throttled('BatchGetDeployments'));

    // Act
    const state = await checkRollbacks(
      deps,
      { rollbacks: [{ ...base, action: 'stop' }], status: 'RUNNING' },
      startWatch({ watchSeconds: 100 }, deps.clock),
    );

    // Assess
    expect(state).toEqual({ status: 'RUNNING', rollbacks: [{ ...base, action: 'stop' }] });
    expect(deps.clock.sleeps.slice(0, 3)).toEqual([10_000, 20_000, 40_000]);
    // Once the backoff no longer fits the watch, it looks every pollSeconds to its end.
    expect(new Set(deps.clock.sleeps.slice(3))).toEqual(new Set([5000]));
    expect(deps.clock.sleeps.reduce((total, ms) => total + ms, 0)).toBeLessThanOrEqual(100_000);
  });
});
