import { DescribeTasksCommand, type DescribeTasksCommandOutput, type Task } from '@aws-sdk/client-ecs';
import { describeFailure, failureOf, inCall, isTransient, succeededSoFar } from '../shared/aws-errors.js';
import { boundFailures } from '../shared/bounds.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import {
  chunk,
  DESCRIBE_TASKS_MAX,
  environmentOf,
  MISSING_GRACE_MS,
  stepContainer,
} from '../shared/ecs-tasks.js';
import { LookPauses, type Watch } from '../shared/lambda-context.js';
import type { AggregateStatus, TaskFailure, TaskPhaseState, TaskRef } from '../shared/types.js';

/** The clients CheckTasks calls: ECS. */
export type CheckTasksClients = Pick<Clients, 'ecs'>;

/** What CheckTasks needs from the outside world. */
export interface CheckTasksDeps {
  clients: CheckTasksClients;
  clock: Clock;
  config: DeployConfig;
}

/** What one look learned about one task. */
export interface TaskObservation {
  ref: TaskRef;
  /** The container whose exit code decides the step (the one its command overrides). */
  container?: string;
  /** The task as DescribeTasks returned it; absent when ECS did not return it. */
  task?: Pick<Task, 'lastStatus' | 'stopCode' | 'stoppedReason' | 'containers'>;
  /** ECS's failure reason for the task (`MISSING` for one it no longer knows). */
  missingReason?: string;
  /**
   * The phase started less than `MISSING_GRACE_MS` ago: a task ECS does not show may not be
   * visible yet (ECS is eventually consistent) rather than gone.
   */
  starting?: boolean;
  /** Why the task could not be read this look (a transient error): nothing is known of it. */
  unread?: string;
}

/** One task's verdict. */
export type TaskVerdict = { outcome: 'running' | 'succeeded' } | { outcome: 'failed'; failure: TaskFailure };

/**
 * Judges one task. Success is STOPPED with exit code 0 on the step's container; a
 * non-zero exit fails the task as soon as the container stopped, without waiting for the
 * task to stop; a stopped task without an exit code failed, and so did one ECS no longer shows
 * (DescribeTasks answers MISSING an hour after a task stopped), even one seen running before,
 * unless the phase only just started (it may not show yet). A task that could not be read is
 * still running as far as anyone knows.
 */
export function judgeTask(observation: TaskObservation): TaskVerdict {
  const { ref, task } = observation;
  if (observation.unread !== undefined) return { outcome: 'running' };
  if (!task && observation.starting) return { outcome: 'running' };
  const failed = (exitCode: number | null, reason: string, stopCode?: string): TaskVerdict => {
    const failure: TaskFailure = {
      environment: ref.environment,
      step: ref.step,
      taskArn: ref.taskArn,
      exitCode,
      reason,
    };
    if (stopCode) failure.stopCode = stopCode;
    return { outcome: 'failed', failure };
  };
  if (!task) {
    // Seen running before or not, a task ECS no longer shows has no exit code to succeed with.
    const why = observation.missingReason ?? 'not returned';
    return failed(
      null,
      `ECS does not show the task (${why}) although the phase started over ${MISSING_GRACE_MS / 60_000} minutes ago: ` +
        'ECS shows a new task within minutes of RunTask and a stopped one for about an hour, so its exit code is unknown',
    );
  }
  const containers = task.containers ?? [];
  const container =
    containers.find((candidate) => candidate.name === observation.container) ??
    (containers.length === 1 ? containers[0] : undefined);
  const exitCode = container?.exitCode ?? null;
  const stopCode = task.stopCode;
  if (container?.lastStatus === 'STOPPED' && exitCode !== null && exitCode !== 0) {
    return failed(
      exitCode,
      container.reason ?? task.stoppedReason ?? `exited with code ${exitCode}`,
      stopCode,
    );
  }
  if (task.lastStatus !== 'STOPPED') return { outcome: 'running' };
  if (exitCode === 0) return { outcome: 'succeeded' };
  return failed(null, container?.reason ?? task.stoppedReason ?? 'stopped without an exit code', stopCode);
}

/** The phase's status: FAILED when any task failed, SUCCEEDED when all succeeded, else RUNNING. */
export function aggregateTasks(observations: readonly TaskObservation[]): {
  status: AggregateStatus;
  failures: TaskFailure[];
} {
  const verdicts = observations.map(judgeTask);
  const failures = verdicts.flatMap((verdict) => (verdict.outcome === 'failed' ? [verdict.failure] : []));
  if (failures.length > 0) return { status: 'FAILED', failures };
  const status = verdicts.every((verdict) => verdict.outcome === 'succeeded') ? 'SUCCEEDED' : 'RUNNING';
  return { status, failures };
}

/**
 * Watches the phase's tasks: looks, and while they still run pauses `pollSeconds` and looks
 * again, as long as the watch allows. Returns as soon as the phase succeeded or failed, or
 * RUNNING when the watch is spent. A read that fails transiently (throttling, a server error)
 * decides nothing: its tasks count as running, the check backs off and looks again. Any other
 * read error fails the check, naming the call. The state it returns carries no log streams, and
 * at most `FAILURES_LISTED_MAX` failures, each reason cut.
 */
export async function checkTasks(
  state: TaskPhaseState,
  deps: CheckTasksDeps,
  watch: Watch,
): Promise<TaskPhaseState> {
  const tasks = state.tasks.map(({ environment, step, taskArn }) => ({ environment, step, taskArn }));
  const kept = { phase: state.phase, tasks, ...(state.startedAt ? { startedAt: state.startedAt } : {}) };
  if (state.status !== 'RUNNING' || tasks.length === 0) {
    const status = state.status === 'RUNNING' ? 'SUCCEEDED' : state.status;
    return { ...state, ...kept, status };
  }
  const pauses = new LookPauses(deps.config.pollSeconds * 1000);
  let succeeded: string[] = [];
  for (;;) {
    let observations: TaskObservation[];
    try {
      observations = await look(tasks, state, deps);
    } catch (error) {
      throw failureOf(error, 'CheckTasks', `nothing was decided; ${succeededSoFar(succeeded)}`);
    }
    const { status, failures } = aggregateTasks(observations);
    succeeded = observations.flatMap((observation) =>
      judgeTask(observation).outcome === 'succeeded'
        ? [`${observation.ref.environment}/${observation.ref.step}`]
        : [],
    );
    if (status !== 'RUNNING') {
      const bounded = boundFailures(failures);
      return {
        ...kept,
        status,
        failures: bounded.failures,
        ...(bounded.omitted > 0 ? { omittedFailures: bounded.omitted } : {}),
      };
    }
    const pauseMs = pauses.within(
      watch,
      observations.every((observation) => observation.unread === undefined),
    );
    if (pauseMs === undefined) return { ...kept, status, failures: [] };
    await deps.clock.sleep(pauseMs);
  }
}

/**
 * One DescribeTasks per (Region, cluster) and batch of 100, all at once. The tasks of a batch
 * whose read failed transiently come back `unread`; any other error is thrown, naming the call.
 */
async function look(
  tasks: TaskRef[],
  state: TaskPhaseState,
  deps: CheckTasksDeps,
): Promise<TaskObservation[]> {
  const groups = new Map<string, { region: string; cluster: string; refs: TaskRef[] }>();
  for (const ref of tasks) {
    const { region, cluster } = environmentOf(deps.config, ref.environment);
    const key = `${region}|${cluster}`;
    const group = groups.get(key) ?? { region, cluster, refs: [] };
    group.refs.push(ref);
    groups.set(key, group);
  }
  const described = new Map<string, Task>();
  const missing = new Map<string, string>();
  const unread = new Map<string, string>();
  await Promise.all(
    [...groups.values()].flatMap(({ region, cluster, refs }) =>
      chunk(refs, DESCRIBE_TASKS_MAX).map(async (batch) => {
        const environments = [...new Set(batch.map((ref) => ref.environment))].join(', ');
        let output: DescribeTasksCommandOutput;
        try {
          output = await inCall('DescribeTasks', `${environments} (cluster ${cluster}, ${region})`, () =>
            deps.clients
              .ecs(region)
              .send(new DescribeTasksCommand({ cluster, tasks: batch.map((ref) => ref.taskArn) })),
          );
        } catch (error) {
          if (!isTransient(error)) throw error;
          for (const ref of batch) unread.set(ref.taskArn, describeFailure(error));
          return;
        }
        for (const task of output.tasks ?? []) if (task.taskArn) described.set(task.taskArn, task);
        for (const failure of output.failures ?? []) {
          if (failure.arn)
            missing.set(failure.arn, [failure.reason, failure.detail].filter(Boolean).join(': '));
        }
      }),
    ),
  );
  const starting =
    state.startedAt !== undefined && deps.clock.elapsedMs(Date.parse(state.startedAt)) < MISSING_GRACE_MS;
  return tasks.map((ref) => ({
    ref,
    container: stepContainer(deps.config, environmentOf(deps.config, ref.environment), ref.step),
    task: described.get(ref.taskArn),
    missingReason: missing.get(ref.taskArn),
    ...(starting ? { starting } : {}),
    ...(unread.has(ref.taskArn) ? { unread: unread.get(ref.taskArn) } : {}),
  }));
}
