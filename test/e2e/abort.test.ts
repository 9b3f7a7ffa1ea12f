import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  deploymentsOf,
  executionHistory,
  pollUntil,
  releaseNameAt,
  setMigrationDelay,
  startRelease,
  waitForExecutionEnd,
  waitForState,
} from '../../examples/demo/sample-aws.js';
import { deploymentMarker, rollbackMarker } from '../../lambdas/shared/markers.js';
import {
  describeTasks,
  expectEveryGroupOnPrevious,
  GROUPS,
  plannedRevision,
  planOf,
  primaryRevision,
  stateAfter,
  useSampleAws,
} from './harness.js';

describe('StopExecution (cancel)', () => {
  const aws = useSampleAws();

  it('during migrations: the cleanup stops every migration task and nothing is deployed', async () => {
    for (const environment of DEMO_ENVIRONMENTS)
      await setMigrationDelay(aws().clients.ecs, environment, 5000);
    const release = releaseNameAt(new Date(), 'e2e-abortmig');
    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'CheckMigrate');
    const events = await executionHistory(aws().clients.sfn, executionArn);
    const taskArns = stateAfter(events, 'Migrate')?.migrate?.tasks.map((task) => task.taskArn) ?? [];
    expect(taskArns).toHaveLength(DEMO_ENVIRONMENTS.length);
    expect((await describeTasks(aws(), taskArns)).every((task) => task.lastStatus !== 'STOPPED')).toBe(true);

    await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    const stopped = await pollUntil('the cleanup to stop the migrations', async () => {
      const tasks = await describeTasks(aws(), taskArns);
      return tasks.every((task) => task.lastStatus === 'STOPPED') ? tasks : undefined;
    });
    for (const task of stopped) {
      expect(task.stopCode).toBe('UserInitiated');
      expect(task.containers?.[0]?.exitCode).not.toBe(0);
    }
    for (const { environment, service } of GROUPS) {
      const ours = (await deploymentsOf(aws().clients.codedeploy, environment, service)).filter((d) =>
        d.description?.includes(`stepdeploy:${release}:`),
      );
      expect(ours, `${environment}/${service}`).toEqual([]);
    }
  });

  it('during deploy: the cleanup rolls every deployment back to the previous revision', async () => {
    // One deployment that never finishes keeps the run in its deploy phase until the stop.
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'au', service: 'web' });
    const release = releaseNameAt(new Date(), 'e2e-abortdeploy');
    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'CheckDeploy');

    await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn);
  });

  // A handler the run invoked runs on after StopExecution: a RetireOldWorkers ending the
  // termination wait as the cleanup stops the deployment leaves CodeDeploy's rollback no original
  // task set to go back to. The rollback-failure fault stands for that end.
  it("during deploy, CodeDeploy's rollback of a group failing: the cleanup deploys the previous revision there", async () => {
    aws().local.faults.add([
      { kind: 'deployment-hang', environment: 'us', service: 'web' },
      { kind: 'rollback-failure', environment: 'us', service: 'worker' },
    ]);
    const release = releaseNameAt(new Date(), 'e2e-abortrbfail');
    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'CheckDeploy');
    const next = plannedRevision(await planOf(aws(), executionArn), 'us', 'worker', 'next');
    await pollUntil(
      'us/worker to move its traffic',
      async () => ((await primaryRevision(aws(), 'us', 'worker')) === next ? true : undefined),
      { timeoutMs: 180_000 },
    );

    await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn);
    const worker = await deploymentsOf(aws().clients.codedeploy, 'us', 'worker');
    expect(worker.filter((d) => d.rollbackOf !== undefined).map((d) => d.status)).toContain('Failed');
    expect(
      worker.filter((d) => d.description === rollbackMarker(release, 'us', 'worker')).map((d) => d.status),
    ).toEqual(['Succeeded']);
    const cleanups = aws()
      .local.lambdas.asyncInvocations()
      .filter((invocation) => invocation.verb === 'cleanup');
    expect(cleanups.map((cleanup) => cleanup.attempts)).toEqual([[{ outcome: 'succeeded' }]]);
  });

  // DescribeExecution "is eventually consistent"
  // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html): right
  // after the stop it may still say RUNNING, though the execution was not redriven.
  it('during deploy, DescribeExecution lagging behind the stop: the cleanup still rolls every deployment back', async () => {
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'au', service: 'web' });
    const release = releaseNameAt(new Date(), 'e2e-abortlag');
    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'CheckDeploy');
    // Ten minutes of AWS time: longer than the cleanup reads again.
    aws().local.faults.add({ kind: 'describe-lag', service: 'sfn', lagMs: 600_000 });

    await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn);
  });
});

// EventBridge invokes the cleanup asynchronously and Lambda may hand it the same event twice
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). With their
// first CreateDeployment throttled, both cleanups look for their rollback deployments before either
// creates one, so the second to create is answered DeploymentLimitExceededException
// (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html). At this
// time scale a rollback deployment stays active (its termination wait) longer than the SDK's backoff.
describe('the status change of a cancelled run delivered twice', () => {
  const aws = useSampleAws({ timeScale: 20 });

  it('during deploy: two cleanups at once end as one, neither failing, one rollback deployment per group', async () => {
    // In the canary wave, so its other deployment runs to Succeeded (the second wave never starts)
    // and the cleanups redeploy its previous revision.
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'us', service: 'web' });
    const release = releaseNameAt(new Date(), 'e2e-twocleanups');
    const executionArn = await startRelease(aws(), release);
    const redeployed = GROUPS.filter((group) => group.environment === 'us' && group.service === 'worker');
    for (const { environment, service } of redeployed) {
      await pollUntil(
        `${environment}/${service} to succeed`,
        async () => {
          const ours = (await deploymentsOf(aws().clients.codedeploy, environment, service)).find(
            (d) => d.description === deploymentMarker(release, environment, service),
          );
          return ours?.status === 'Succeeded' ? true : undefined;
        },
        { timeoutMs: 180_000 },
      );
    }
    aws().local.faults.add([
      { kind: 'duplicate-delivery', detailType: 'Step Functions Execution Status Change', count: 1 },
      {
        kind: 'throttle',
        service: 'codedeploy',
        operation: 'CreateDeployment',
        count: 2 * redeployed.length,
      },
    ]);

    await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    const cleanups = aws()
      .local.lambdas.asyncInvocations()
      .filter((invocation) => invocation.verb === 'cleanup');
    expect(cleanups.map((cleanup) => cleanup.attempts)).toEqual([
      [{ outcome: 'succeeded' }],
      [{ outcome: 'succeeded' }],
    ]);
    await expectEveryGroupOnPrevious(aws(), executionArn);
    for (const { environment, service } of redeployed) {
      const rollbacks = (await deploymentsOf(aws().clients.codedeploy, environment, service)).filter(
        (d) => d.description === rollbackMarker(release, environment, service),
      );
      expect(rollbacks, `${environment}/${service}`).toHaveLength(1);
    }
  }, 300_000);
});
