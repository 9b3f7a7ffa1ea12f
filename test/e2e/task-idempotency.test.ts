import { DescribeTasksCommand, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { DEMO_ENVIRONMENTS, pollUntil, setMigrationDelay } from '../../examples/demo/sample-aws.js';
import { revisionOf } from '../../lambdas/shared/ecs-tasks.js';
import { runIdOf } from '../../lambdas/shared/markers.js';
import type { Phase, Plan, TaskPhaseState } from '../../lambdas/shared/types.js';
import type { LambdaInvocationError } from '../../local/stepfunctions/lambda-functions.js';
import { useSampleAws } from './harness.js';

/**
 * A day of AWS time lasts 10 s here: RunTask's client tokens expire (24 hours) and stopped
 * tasks leave DescribeTasks (an hour, 0.4 s) within a test.
 */
const TIME_SCALE = 8_640;
const DAY_MS = 86_400_000;

const sample = useSampleAws({ timeScale: TIME_SCALE });

const EXECUTION_ARN =
  'arn:aws:states:us-east-1:000000000000:execution:StepdeploySampleDeploy:2026-12-01.1-retried';

/** The plan of a run that migrates every environment from `oneOff`, started `ageMs` ago (AWS time). */
function planOf(oneOff: Record<string, string>, ageMs = 0): Plan {
  return {
    release: '2026-12-01.1',
    runId: runIdOf(EXECUTION_ARN),
    account: '000000000000',
    startedAt: new Date(Date.now() - ageMs / TIME_SCALE).toISOString(),
    environments: [...DEMO_ENVIRONMENTS],
    skipMigrations: false,
    oneOff,
    services: {},
  };
}

/** Invokes a handler of the deployed template, as the state machine would. */
async function invoke(verb: string, event: unknown): Promise<unknown> {
  const { local } = sample();
  const fn = local.lambdas.list().find((candidate) => candidate.verb === verb);
  if (!fn) throw new Error(`The sample stack has no ${verb} function.`);
  return local.lambdas.invoke(fn, event);
}

/** The run's tasks each environment's cluster still wants running (ListTasks by startedBy alone). */
async function runningRunTasks(runId: string): Promise<string[]> {
  const arns = await Promise.all(
    DEMO_ENVIRONMENTS.map(async (environment) => {
      const listed = await sample().clients.ecs.send(
        new ListTasksCommand({ cluster: `stepdeploy-demo-${environment}`, startedBy: runId }),
      );
      return listed.taskArns ?? [];
    }),
  );
  return arns.flat().sort();
}

/** The one-off revisions, with every migration delayed by `delayMs` (real time). */
async function delayedOneOff(delayMs: number): Promise<Record<string, string>> {
  const entries = await Promise.all(
    DEMO_ENVIRONMENTS.map(async (environment) => [
      environment,
      revisionOf(await setMigrationDelay(sample().clients.ecs, environment, delayMs)),
    ]),
  );
  return Object.fromEntries(entries);
}

describe('task phases against ECS client tokens and forgotten tasks', () => {
  // RunTask's client token lasts 24 hours (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html):
  // a StartTasks retried later must find the tasks it started rather than start them again.
  it('takes over the running migrations when StartTasks runs again after the client tokens expired', async () => {
    // Prepare: migrations that keep running for the whole test.
    const plan = planOf(await delayedOneOff(300_000));
    const event = { phase: 'migrate' as Phase, plan, executionArn: EXECUTION_ARN };
    const first = (await invoke('start-tasks', event)) as TaskPhaseState;
    const started = first.tasks.map((task) => task.taskArn).sort();
    await pollUntil('the migrations to run', async () =>
      (await runningRunTasks(plan.runId)).length === 3 ? true : undefined,
    );

    // Act: a day and a bit of AWS time later.
    await new Promise((resolve) => setTimeout(resolve, ((DAY_MS + 3_600_000) / TIME_SCALE) | 0));
    const again = (await invoke('start-tasks', event)) as TaskPhaseState;

    // Assess
    expect(again.tasks.map((task) => task.taskArn).sort()).toEqual(started);
    expect(await runningRunTasks(plan.runId)).toEqual(started);
  });

  it('starts nothing and names the fix when a phase of a run older than a day has no task to take over', async () => {
    // Prepare: a run whose Plan ran two days ago, and whose post-deploy step never started.
    const plan = planOf(await delayedOneOff(0), 2 * DAY_MS);

    // Act
    const refused = await invoke('start-tasks', {
      phase: 'post-deploy' as Phase,
      plan,
      executionArn: EXECUTION_ARN,
    }).catch((error: LambdaInvocationError) => error);

    // Assess
    expect(refused).toMatchObject({ name: 'StaleRunError' });
    expect(JSON.parse((refused as Error).message).errorMessage).toMatch(
      /no longer keep us\/tag-release, eu\/tag-release, au\/tag-release from starting twice.*Nothing was started\. If they never ran, start a new execution of release 2026-12-01\.1/,
    );
    expect(await runningRunTasks(plan.runId)).toEqual([]);
  });

  // DescribeTasks shows a stopped task for about an hour (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
  it('fails a task the check can no longer see, with no exit code, even after it succeeded', async () => {
    // Prepare: migrations that finish at once, looked at after ECS forgot them.
    const plan = planOf(await delayedOneOff(0));
    const state = (await invoke('start-tasks', {
      phase: 'migrate' as Phase,
      plan,
      executionArn: EXECUTION_ARN,
    })) as TaskPhaseState;
    const stopped = await pollUntil('the migrations to stop', async () => {
      const { tasks } = await sample().clients.ecs.send(
        new DescribeTasksCommand({
          cluster: 'stepdeploy-demo-us',
          tasks: state.tasks.filter((task) => task.environment === 'us').map((task) => task.taskArn),
        }),
      );
      return tasks?.[0]?.lastStatus === 'STOPPED' ? (tasks[0] as Task) : undefined;
    });
    await pollUntil('ECS to forget the us migration', async () => {
      const { failures } = await sample().clients.ecs.send(
        new DescribeTasksCommand({ cluster: 'stepdeploy-demo-us', tasks: [stopped.taskArn as string] }),
      );
      return failures?.[0]?.reason === 'MISSING' ? true : undefined;
    });

    // Act
    const checked = (await invoke('check-tasks', { state })) as TaskPhaseState;

    // Assess
    expect(stopped.containers?.[0]?.exitCode).toBe(0);
    expect(checked.status).toBe('FAILED');
    expect(checked.failures).toContainEqual(
      expect.objectContaining({
        environment: 'us',
        step: 'migrate',
        exitCode: null,
        reason: expect.stringMatching(/^ECS does not show the task \(MISSING\)/),
      }),
    );
  });
});
