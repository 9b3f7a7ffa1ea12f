import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  executionHistory,
  releaseNameAt,
  setMigrationDelay,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { announcementsOf, expectOneOfEach, planOf, useSampleAws } from './harness.js';

describe('a flaky control plane', () => {
  const aws = useSampleAws();

  it('transient Lambda failures and throttling: the run succeeds with one task per environment and phase, one deployment per group', async () => {
    aws().local.faults.add([
      { kind: 'lambda-failure', verb: 'plan', count: 1 },
      { kind: 'lambda-failure', verb: 'start-tasks', count: 2 },
      { kind: 'lambda-failure', verb: 'check-tasks', count: 1 },
      { kind: 'lambda-failure', verb: 'start-deployments', count: 2 },
      { kind: 'lambda-failure', verb: 'check-deployments', count: 1 },
      { kind: 'throttle', service: 'ecs', operation: 'RunTask', count: 3 },
      { kind: 'throttle', service: 'ecs', operation: 'DescribeTasks', count: 2 },
      { kind: 'throttle', service: 'codedeploy', operation: 'CreateDeployment', count: 3 },
      { kind: 'throttle', service: 'codedeploy', operation: 'BatchGetDeployments', count: 2 },
    ]);
    const release = releaseNameAt(new Date(), 'e2e-flaky');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    expect(aws().local.faults.list(), 'every injected failure fired').toEqual([]);
    await expectOneOfEach(aws(), executionArn, release);
  });

  it('handlers timed out after acting: each is retried, and the run still starts one task per environment and phase, one deployment per group', async () => {
    // Each runs to the end (its tasks and deployments exist), then Lambda reports Sandbox.Timedout.
    aws().local.faults.add([
      { kind: 'lambda-timeout', verb: 'plan', count: 1 },
      { kind: 'lambda-timeout', verb: 'start-tasks', count: 1 },
      { kind: 'lambda-timeout', verb: 'check-tasks', count: 1 },
      { kind: 'lambda-timeout', verb: 'start-deployments', count: 1 },
      { kind: 'lambda-timeout', verb: 'check-deployments', count: 1 },
    ]);
    const release = releaseNameAt(new Date(), 'e2e-timedout');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    expect(aws().local.faults.list(), 'every injected timeout fired').toEqual([]);
    const timedOut = (await executionHistory(aws().clients.sfn, executionArn)).filter(
      (event) => event.lambdaFunctionFailedEventDetails?.error === 'Sandbox.Timedout',
    );
    expect(timedOut).toHaveLength(5);
    await expectOneOfEach(aws(), executionArn, release);
  });

  it('refuses a second release while one runs, naming the running one', async () => {
    // Slow migrations keep the first release running while the second starts.
    for (const environment of DEMO_ENVIRONMENTS)
      await setMigrationDelay(aws().clients.ecs, environment, 2000);
    const first = releaseNameAt(new Date(), 'e2e-first');
    const firstArn = await startRelease(aws(), first);
    const second = releaseNameAt(new Date(), 'e2e-second');

    const secondArn = await startRelease(aws(), second);
    const refused = await waitForExecutionEnd(aws().clients.sfn, secondArn);

    expect(refused.status).toBe('FAILED');
    expect(`${refused.error} ${refused.cause}`).toMatch(/DeployInProgressError/);
    expect(refused.cause).toContain(first);
    const finished = await waitForExecutionEnd(aws().clients.sfn, firstArn);
    expect(finished.status, `${finished.error}: ${finished.cause}`).toBe('SUCCEEDED');
  });

  // Reads lag behind writes: DescribeTasks may answer a task RunTask just started MISSING
  // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, eventual consistency),
  // and a deployment CreateDeployment just made may be missing from BatchGetDeployments
  // (https://github.com/aws-actions/amazon-ecs-deploy-task-definition/issues/495).
  it('reads that lag behind RunTask and CreateDeployment within the grace decide nothing: the run succeeds with one of each', async () => {
    // The first look at the first phase's tasks and at the deployments finds none of them: one
    // lagging answer per task and per deployment (at this time scale a second of the local AWS's
    // own work is a hundred of AWS time, so the count, not lagMs, bounds the lag).
    aws().local.faults.add([
      { kind: 'describe-lag', service: 'ecs', lagMs: 3_600_000, count: DEMO_ENVIRONMENTS.length },
      { kind: 'describe-lag', service: 'codedeploy', lagMs: 3_600_000, count: 6 },
    ]);
    const release = releaseNameAt(new Date(), 'e2e-lag');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    expect(aws().local.faults.list(), 'every lagging answer was given').toEqual([]);
    await expectOneOfEach(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Succeeded',
    ]);
  });

  it('a task ECS still does not show once the grace is over fails the phase, naming it, and the run is announced failed', async () => {
    // Ten minutes of AWS time: past the checks' five-minute grace after RunTask.
    aws().local.faults.add({ kind: 'describe-lag', service: 'ecs', lagMs: 600_000 });
    const release = releaseNameAt(new Date(), 'e2e-lagpast');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);
    aws().local.faults.clear();

    expect(end.status).toBe('FAILED');
    expect(end.cause).toMatch(
      /ECS does not show the task \(MISSING\) although the phase started over 5 minutes ago/,
    );
    const { runId } = await planOf(aws(), executionArn);
    for (const environment of DEMO_ENVIRONMENTS) {
      const running = await aws().clients.ecs.send(
        new ListTasksCommand({ cluster: `stepdeploy-demo-${environment}`, startedBy: runId }),
      );
      expect(running.taskArns, `${environment}: tasks of the run still running`).toEqual([]);
    }
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Failed',
    ]);
  });
});
