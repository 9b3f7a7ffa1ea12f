import { DescribeTasksCommand, type Task } from '@aws-sdk/client-ecs';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import { chunk, DESCRIBE_TASKS_MAX, environmentOf, stepContainer } from '../shared/ecs-tasks.js';
import type { Watch } from '../shared/lambda-context.js';
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
}

/** One task's verdict. */
export type TaskVerdict = { outcome: 'running' | 'succeeded' } | { outcome: 'failed'; failure: TaskFailure };

/**
 * Judges one task. Success is STOPPED with exit code 0 on the step's container; a
 * non-zero exit fails the task as soon as the container stopped, without waiting for the
 * task to stop; a stopped task without an exit code failed, and so did one ECS no longer shows
 * (DescribeTasks answers MISSING an hour after a task stopped), even one seen running before.
 */
export function judgeTask(observation: TaskObservation): TaskVerdict {
  const { ref, task } = observation;
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
      `ECS no longer shows the task (${why}): it shows a stopped task for about an hour, so its exit code is unknown`,
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
 * Watches the phase's tasks: looks, and while they still run sleeps `pollSeconds` and
 * looks again, as long as the watch allows. Returns as soon as the phase succeeded or
 * failed, or RUNNING when the watch is spent. The state it returns carries no log streams.
 */
export async function checkTasks(
  state: TaskPhaseState,
  deps: CheckTasksDeps,
  watch: Watch,
): Promise<TaskPhaseState> {
  const tasks = state.tasks.map(({ environment, step, taskArn }) => ({ environment, step, taskArn }));
  if (state.status !== 'RUNNING' || tasks.length === 0) {
    const status = state.status === 'RUNNING' ? 'SUCCEEDED' : state.status;
    return { ...state, tasks, status };
  }
  const pollMs = deps.config.pollSeconds * 1000;
  for (;;) {
    const { status, failures } = aggregateTasks(await look(tasks, deps));
    if (status !== 'RUNNING' || !watch.allows(pollMs)) return { phase: state.phase, tasks, status, failures };
    await deps.clock.sleep(pollMs);
  }
}

/** One DescribeTasks per (Region, cluster) and batch of 100, all at once. */
async function look(tasks: TaskRef[], deps: CheckTasksDeps): Promise<TaskObservation[]> {
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
  await Promise.all(
    [...groups.values()].flatMap(({ region, cluster, refs }) =>
      chunk(refs, DESCRIBE_TASKS_MAX).map(async (batch) => {
        const output = await deps.clients
          .ecs(region)
          .send(new DescribeTasksCommand({ cluster, tasks: batch.map((ref) => ref.taskArn) }));
        for (const task of output.tasks ?? []) if (task.taskArn) described.set(task.taskArn, task);
        for (const failure of output.failures ?? []) {
          if (failure.arn)
            missing.set(failure.arn, [failure.reason, failure.detail].filter(Boolean).join(': '));
        }
      }),
    ),
  );
  return tasks.map((ref) => ({
    ref,
    container: stepContainer(deps.config, environmentOf(deps.config, ref.environment), ref.step),
    task: described.get(ref.taskArn),
    missingReason: missing.get(ref.taskArn),
  }));
}
