import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  type DeploymentInfo,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  aggregateDeployments,
  checkDeployments,
  type DeploymentStage,
  deploymentStage,
} from '../../../lambdas/check-deployments/core.js';
import { startWatch } from '../../../lambdas/shared/lambda-context.js';
import { deploymentIds } from '../../../lambdas/shared/revisions.js';
import type { AlarmBreach, DeploymentRef, DeployState } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps } from '../shared/deployment-fixtures.js';
import { awsError, throttled } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = mockClient(CloudWatchClient);

const breach: AlarmBreach = {
  environment: 'us',
  alarmName: 'us-5xx',
  at: '2026-11-26T06:03:00.000Z',
  reason: 'Threshold Crossed',
};

const web: DeploymentRef = { environment: 'us', service: 'web', deploymentId: 'd-web' };
const worker: DeploymentRef = { environment: 'eu', service: 'worker', deploymentId: 'd-worker' };

describe('aggregateDeployments', () => {
  it.each<{
    name: string;
    infos: Array<Partial<DeploymentInfo>>;
    /** Deployments whose ECS target Succeeded. */
    moved?: string[];
    /** How long every deployment has been in flight. */
    elapsedMs?: number;
    /** Deployments that decide nothing this look. */
    undecided?: string[];
    expected: Pick<DeployState, 'status' | 'failures' | 'alarms'>;
    /** The wave cuts over together and CutOver has not continued it. */
    awaitingCutOver?: boolean;
    alarms?: AlarmBreach[];
  }>([
    {
      name: 'both InProgress with their targets Succeeded (ECS termination wait)',
      infos: [{ status: 'InProgress' }, { status: 'InProgress', instanceTerminationWaitTimeStarted: false }],
      moved: ['d-web', 'd-worker'],
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'one InProgress whose target has not Succeeded yet',
      infos: [{ status: 'InProgress' }, { status: 'InProgress' }],
      moved: ['d-web'],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'one Baking',
      infos: [{ status: 'Succeeded' }, { status: 'Baking' }],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'one in flight past the deployment timeout',
      infos: [{ status: 'Succeeded' }, { status: 'InProgress' }],
      elapsedMs: 7_200_001,
      expected: {
        status: 'FAILED',
        failures: [
          {
            ...worker,
            status: 'TimedOut',
            reason:
              'the deployment timeout of 120 minutes ran out with 1 deployment still in flight (eu/worker); this one was InProgress',
          },
        ],
      },
    },
    {
      name: 'traffic moved everywhere when the deployment timeout ran out',
      infos: [{ status: 'InProgress' }, { status: 'Succeeded' }],
      moved: ['d-web'],
      elapsedMs: 7_200_001,
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'all succeeded',
      infos: [{ status: 'Succeeded' }, { status: 'Succeeded' }],
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'one succeeded, one in its termination wait',
      infos: [{ status: 'Succeeded' }, { status: 'Ready', instanceTerminationWaitTimeStarted: true }],
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'both in termination wait',
      infos: [
        { status: 'InProgress', instanceTerminationWaitTimeStarted: true },
        { status: 'Ready', instanceTerminationWaitTimeStarted: true },
      ],
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'one still shifting traffic',
      infos: [{ status: 'Succeeded' }, { status: 'InProgress' }],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'one ready before its traffic moved',
      infos: [{ status: 'Ready', instanceTerminationWaitTimeStarted: false }, { status: 'Succeeded' }],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'awaiting the cut-over: both Ready',
      infos: [{ status: 'Ready' }, { status: 'Ready' }],
      awaitingCutOver: true,
      expected: { status: 'READY', failures: [] },
    },
    {
      name: 'awaiting the cut-over: one Ready, one still installing',
      infos: [{ status: 'Ready' }, { status: 'InProgress' }],
      awaitingCutOver: true,
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'awaiting the cut-over: one Ready, one already moved (a CutOver that was retried)',
      infos: [{ status: 'Ready' }, { status: 'InProgress' }],
      moved: ['d-worker'],
      awaitingCutOver: true,
      expected: { status: 'READY', failures: [] },
    },
    {
      name: 'awaiting the cut-over: one Ready, one failed before it: no traffic moves',
      infos: [
        { status: 'Ready' },
        {
          status: 'Failed',
          errorInformation: { code: 'HOOK_EXECUTION_FAILURE', message: 'AfterInstall failed' },
        },
      ],
      awaitingCutOver: true,
      expected: {
        status: 'FAILED',
        failures: [{ ...worker, status: 'Failed', reason: 'AfterInstall failed' }],
      },
    },
    {
      name: 'awaiting the cut-over: both moved (the groups lost their ready wait)',
      infos: [{ status: 'Succeeded' }, { status: 'Succeeded' }],
      awaitingCutOver: true,
      expected: { status: 'SUCCEEDED', failures: [] },
    },
    {
      name: 'awaiting the cut-over: both Ready past the deployment timeout',
      infos: [{ status: 'Ready' }, { status: 'Ready' }],
      awaitingCutOver: true,
      elapsedMs: 7_200_001,
      expected: {
        status: 'FAILED',
        failures: [web, worker].map((ref) => ({
          ...ref,
          status: 'TimedOut',
          reason:
            'the deployment timeout of 120 minutes ran out with 2 deployments still in flight (us/web, eu/worker); this one was Ready',
        })),
      },
    },
    {
      name: 'an alarm of the wave went into ALARM while both are Ready',
      infos: [{ status: 'Ready' }, { status: 'Ready' }],
      awaitingCutOver: true,
      alarms: [breach],
      expected: { status: 'FAILED', failures: [], alarms: [breach] },
    },
    {
      name: 'an alarm of the wave went into ALARM after traffic moved everywhere',
      infos: [{ status: 'Succeeded' }, { status: 'Succeeded' }],
      alarms: [breach],
      expected: { status: 'FAILED', failures: [], alarms: [breach] },
    },
    {
      name: 'one queued',
      infos: [{ status: 'Queued' }, { status: 'Created' }],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'one failed while the other runs',
      infos: [
        {
          status: 'Failed',
          errorInformation: { code: 'HEALTH_CONSTRAINTS', message: 'tasks failed health checks' },
        },
        { status: 'InProgress' },
      ],
      expected: {
        status: 'FAILED',
        failures: [{ ...web, status: 'Failed', reason: 'tasks failed health checks' }],
      },
    },
    {
      name: 'one stopped without a message',
      infos: [{ status: 'Succeeded' }, { status: 'Stopped' }],
      expected: {
        status: 'FAILED',
        failures: [{ ...worker, status: 'Stopped', reason: 'deployment stopped' }],
      },
    },
    {
      name: 'one unknown to CodeDeploy',
      infos: [{ status: 'Succeeded' }],
      expected: {
        status: 'FAILED',
        failures: [{ ...worker, status: 'Missing', reason: 'CodeDeploy did not return deployment d-worker' }],
      },
    },
    {
      name: 'one not returned that decides nothing yet (unread, or just created)',
      infos: [{ status: 'Succeeded' }],
      undecided: ['d-worker'],
      expected: { status: 'RUNNING', failures: [] },
    },
    {
      name: 'one failed while another decides nothing',
      infos: [{ status: 'Failed', errorInformation: { message: 'boom' } }],
      undecided: ['d-worker'],
      expected: { status: 'FAILED', failures: [{ ...web, status: 'Failed', reason: 'boom' }] },
    },
  ])('$name', ({ infos, expected, moved, elapsedMs, undecided, awaitingCutOver, alarms }) => {
    // Prepare
    const refs = [web, worker];
    const byId = new Map(
      infos.map((info, i) => [refs[i].deploymentId, { deploymentId: refs[i].deploymentId, ...info }]),
    );

    // Act
    const aggregate = aggregateDeployments(refs, byId, {
      trafficMoved: new Set(moved ?? []),
      elapsedMs: () => elapsedMs ?? 0,
      timeoutMs: 7_200_000,
      undecided: new Set(undecided ?? []),
      awaitingCutOver,
      alarms,
    });

    // Assess
    expect(aggregate).toEqual(expected);
  });
});

describe('deploymentStage', () => {
  it.each<[string, Partial<DeploymentInfo>, boolean, DeploymentStage]>([
    ['Ready: in its ready wait', { status: 'Ready' }, false, 'ready'],
    ['InProgress, target not Succeeded', { status: 'InProgress' }, false, 'in-flight'],
    ['InProgress, target Succeeded', { status: 'InProgress' }, true, 'moved'],
    [
      'Ready with the termination flag (should CodeDeploy ever set it)',
      { status: 'Ready', instanceTerminationWaitTimeStarted: true },
      false,
      'moved',
    ],
    ['Succeeded', { status: 'Succeeded' }, false, 'moved'],
    ['Stopped', { status: 'Stopped' }, false, 'failed'],
    ['Created', { status: 'Created' }, false, 'in-flight'],
  ])('%s → %s', (_name, info, moved, stage) => {
    expect(deploymentStage(info, moved)).toBe(stage);
  });
});

describe('checkDeployments', () => {
  beforeEach(() => {
    codedeploy.reset();
    cloudwatch.reset();
  });

  it('keeps looking every pollSeconds and returns as soon as one deployment failed', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolvesOnce({ deploymentsInfo: [deployment('d-web', 'us', 'web')] })
      .resolvesOnce({ deploymentsInfo: [deployment('d-web', 'us', 'web')] })
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Failed' })] });

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 50 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('FAILED');
    expect(deps.clock.sleeps).toEqual([5000, 5000]);
    expect(codedeploy).toHaveReceivedCommandTimes(BatchGetDeploymentsCommand, 3);
  });

  it('counts a deployment InProgress whose ECS target Succeeded as moved, listing its targets once', async () => {
    // Prepare: CodeDeploy keeps instanceTerminationWaitTimeStarted false for ECS
    // (https://github.com/aws/containers-roadmap/issues/269); the target tells.
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'InProgress' })] });
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['us-cluster:web'] });
    codedeploy
      .on(BatchGetDeploymentTargetsCommand)
      .resolvesOnce({ deploymentTargets: [{ ecsTarget: { status: 'InProgress' } }] })
      .resolves({
        deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
      });

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 50 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('SUCCEEDED');
    expect(deps.clock.sleeps).toEqual([5000]);
    expect(codedeploy).toHaveReceivedCommandTimes(ListDeploymentTargetsCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(BatchGetDeploymentTargetsCommand, {
      deploymentId: 'd-web',
      targetIds: ['us-cluster:web'],
    });
  });

  it('hands the state back RUNNING once its watch is spent', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web')] });

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 10 }, deps.clock),
    );

    // Assess
    expect(state).toEqual({
      deployments: { us: { web: 'd-web' } },
      status: 'RUNNING',
      failures: [],
      watchedSince: new Date(deps.clock.nowMs() - 10_000).toISOString(),
    });
    expect(deps.clock.sleeps).toHaveLength(2);
    expect(codedeploy).toHaveReceivedCommandTimes(BatchGetDeploymentsCommand, 3);
  });

  it('decides nothing on throttled reads: ten in a row back off and hand the state back RUNNING, no failure', async () => {
    // Prepare: the SDK's own retries are spent on each of these calls.
    const deps = makeDeps();
    codedeploy.on(BatchGetDeploymentsCommand).rejects(throttled('BatchGetDeployments'));

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web, worker]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('RUNNING');
    expect(state.failures).toEqual([]);
    expect(deps.clock.sleeps.slice(0, 5)).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(codedeploy.commandCalls(BatchGetDeploymentsCommand).length).toBeGreaterThanOrEqual(10);
  });

  it('acts on a real outcome once the reads answer again, pausing pollSeconds again', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(awsError('InternalFailure', 'We encountered an internal error.', 500))
      .resolvesOnce({ deploymentsInfo: [deployment('d-web', 'us', 'web')] })
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Stopped' })] });

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('FAILED');
    expect(state.failures).toEqual([{ ...web, status: 'Stopped', reason: 'deployment stopped' }]);
    expect(deps.clock.sleeps).toEqual([10_000, 20_000, 5000]);
  });

  it('fails loudly on a read error that is not transient, naming the call', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .rejects(
        awsError('AccessDeniedException', 'not authorized to perform: codedeploy:BatchGetDeployments'),
      );

    // Act
    const checking = checkDeployments(
      deps,
      { deployments: deploymentIds([web]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    await expect(checking).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /^CheckDeployments: BatchGetDeployments on us \(us-east-1\) failed: not authorized.*; nothing was decided; none had been seen to succeed yet\.$/,
      ),
    });
  });

  it('names the call, the environment and what had already succeeded when a later look fails on an error', async () => {
    // Prepare: the first look sees us/web succeeded and eu/worker in flight; then eu's read is refused.
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand, { deploymentIds: ['d-web'] })
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Succeeded' })] });
    codedeploy
      .on(BatchGetDeploymentsCommand, { deploymentIds: ['d-worker'] })
      .resolvesOnce({ deploymentsInfo: [deployment('d-worker', 'eu', 'worker', { status: 'InProgress' })] })
      .rejects(
        awsError('AccessDeniedException', 'not authorized to perform: codedeploy:BatchGetDeployments'),
      );
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });

    // Act
    const checking = checkDeployments(
      deps,
      { deployments: deploymentIds([web, worker]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    await expect(checking).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /^CheckDeployments: BatchGetDeployments on eu \(eu-west-1\) failed: not authorized.*; nothing was decided; us\/web had succeeded when last looked at\.$/,
      ),
    });
  });

  it('takes a deployment not returned in the first minute as not visible yet, then fails it Missing', async () => {
    // Prepare: CodeDeploy may not show a deployment right after CreateDeployment
    // (https://github.com/aws-actions/amazon-ecs-deploy-task-definition/issues/495).
    const deps = makeDeps();
    codedeploy.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Succeeded' })],
    });

    // Act
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds([web, worker]), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('FAILED');
    expect(state.failures).toEqual([
      { ...worker, status: 'Missing', reason: 'CodeDeploy did not return deployment d-worker' },
    ]);
    expect(deps.clock.sleeps.reduce((total, ms) => total + ms, 0)).toBe(60_000);
  });

  it('keeps at most 40 failures in the state, each reason cut, and counts the rest', async () => {
    // Prepare
    const refs: DeploymentRef[] = Array.from({ length: 100 }, (_, i) => ({
      environment: 'us',
      service: `web${i}`,
      deploymentId: `d-${i}`,
    }));
    codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => ({
      deploymentsInfo: input.deploymentIds.map((id) =>
        deployment(id, 'us', 'web', { status: 'Failed', errorInformation: { message: 'x'.repeat(5000) } }),
      ),
    }));

    // Act
    const deps = makeDeps();
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds(refs), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 600 }, deps.clock),
    );

    // Assess
    expect(state.failures).toHaveLength(40);
    expect(state.omittedFailures).toBe(60);
    expect(Math.max(...state.failures.map((failure) => failure.reason.length))).toBe(400);
  });

  it('asks for 25 deployments per call and per Region', async () => {
    // Prepare
    const refs: DeploymentRef[] = Array.from({ length: 30 }, (_, i) => ({
      environment: i < 27 ? 'us' : 'eu',
      service: `web${i}`,
      deploymentId: `d-${i}`,
    }));
    codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => ({
      deploymentsInfo: input.deploymentIds.map((id) => deployment(id, 'us', 'web', { status: 'Succeeded' })),
    }));

    // Act
    const deps = makeDeps();
    const state = await checkDeployments(
      deps,
      { deployments: deploymentIds(refs), status: 'RUNNING', failures: [] },
      startWatch({ watchSeconds: 0 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('SUCCEEDED');
    const sizes = codedeploy
      .commandCalls(BatchGetDeploymentsCommand)
      .map((c) => c.args[0].input.deploymentIds?.length);
    expect(sizes.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([2, 3, 25]);
  });

  /** The wave of `us` (with alarm `us-5xx`), cutting over together. */
  function waveState(fields: Partial<NonNullable<DeployState['wave']>> = {}): DeployState {
    return {
      deployments: deploymentIds([web, worker]),
      status: 'RUNNING',
      failures: [],
      wave: {
        index: 1,
        of: 2,
        environments: ['us'],
        cutover: 'together',
        startedAt: '2026-11-26T06:01:00.000Z',
        ...fields,
      },
    };
  }

  function withAlarm(deps: ReturnType<typeof makeDeps>) {
    return {
      ...deps,
      config: {
        ...deps.config,
        environments: deps.config.environments.map((env) =>
          env.name === 'us' ? { ...env, alarms: ['us-5xx'] } : env,
        ),
      },
    };
  }

  it('watches only the current wave’s deployments, and returns READY once all of them wait for the cut-over', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Ready' })],
    });

    // Act
    const state = await checkDeployments(deps, waveState(), startWatch({ watchSeconds: 50 }, deps.clock));

    // Assess
    expect(state.status).toBe('READY');
    expect(codedeploy).toHaveReceivedCommandWith(BatchGetDeploymentsCommand, { deploymentIds: ['d-web'] });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('after the cut-over, waits for the traffic to move and records when it did', async () => {
    // Prepare
    const deps = makeDeps();
    codedeploy
      .on(BatchGetDeploymentsCommand)
      .resolvesOnce({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Ready' })] })
      .resolves({ deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'Succeeded' })] });

    // Act
    const state = await checkDeployments(
      deps,
      waveState({ cutOverAt: '2026-11-26T06:04:00.000Z' }),
      startWatch({ watchSeconds: 50 }, deps.clock),
    );

    // Assess
    expect(state.status).toBe('SUCCEEDED');
    expect(deps.clock.sleeps).toEqual([5000]);
    expect(state.wave?.trafficMovedAt).toBe(new Date(deps.clock.nowMs()).toISOString());
  });

  it('fails the wave on an alarm that went into ALARM since the wave began, though it is OK again', async () => {
    // Prepare
    const deps = withAlarm(makeDeps());
    codedeploy.on(BatchGetDeploymentsCommand).resolves({
      deploymentsInfo: [deployment('d-web', 'us', 'web', { status: 'InProgress' })],
    });
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'us-5xx', StateValue: 'OK', StateReason: 'fine' }],
    });
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({
      AlarmHistoryItems: [
        {
          AlarmName: 'us-5xx',
          HistoryItemType: 'StateUpdate',
          Timestamp: new Date('2026-11-26T06:02:00.000Z'),
          HistorySummary: 'Alarm updated from OK to ALARM',
          HistoryData: JSON.stringify({ newState: { stateValue: 'ALARM', stateReason: 'set by hand' } }),
        },
      ],
    });

    // Act
    const state = await checkDeployments(deps, waveState(), startWatch({ watchSeconds: 50 }, deps.clock));

    // Assess
    expect(state.status).toBe('FAILED');
    expect(state.alarms).toEqual([
      { environment: 'us', alarmName: 'us-5xx', at: '2026-11-26T06:02:00.000Z', reason: 'set by hand' },
    ]);
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmHistoryCommand, {
      AlarmName: 'us-5xx',
      HistoryItemType: 'StateUpdate',
      StartDate: new Date('2026-11-26T06:01:00.000Z'),
    });
  });
});
