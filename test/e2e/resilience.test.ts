import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  executionHistory,
  releaseNameAt,
  setMigrationDelay,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { expectOneOfEach, useSampleAws } from './harness.js';

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
});
