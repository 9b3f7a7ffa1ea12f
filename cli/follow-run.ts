import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeDeployClient, DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { DescribeTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import {
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Clock } from '../lambdas/shared/clock.js';
import { batchGetByRegion, DeploymentTargets, hasTrafficMoved } from '../lambdas/shared/deployments.js';
import { chunk, DESCRIBE_TASKS_MAX } from '../lambdas/shared/ecs-tasks.js';
import { deploymentRefs } from '../lambdas/shared/revisions.js';
import type { DeployState, RollbackState, TaskLog, TaskPhaseState } from '../lambdas/shared/types.js';
import { describeReadFailure, isFatalReadError, UnreadableRunError } from './errors.js';
import type { IncompleteLog, RunStatus, SummaryEvent, TailEvent } from './events.js';
import { type ExecutionEnd, HistoryReader, interpret, type RunUpdate } from './history.js';
import { LogFollower, type StreamEnd, type StreamRef } from './log-follower.js';
import { RateLimiter } from './rate-limiter.js';
import { formatDuration } from './render.js';

/** The SDK clients `tail-deploy` calls, per Region. */
export interface TailClients {
  sfn(region: string): SFNClient;
  ecs(region: string): ECSClient;
  codedeploy(region: string): CodeDeployClient;
  /** Make these with `maxAttempts: 1`: the follower retries through its rate limiter. */
  logs(region: string): CloudWatchLogsClient;
}

/** Tells the follower about Ctrl+C; returns a function that stops listening. */
export type InterruptSource = (listener: () => void) => () => void;

/** Settings of one follow. */
export interface FollowRunProps {
  /** The execution, as DescribeExecution returned it. */
  readonly execution: DescribeExecutionCommandOutput & { executionArn: string };
  /** Region of the execution. */
  readonly region: string;
  readonly clients: TailClients;
  readonly clock: Clock;
  /** Receives every event, in the order they happened. */
  readonly emit: (event: TailEvent) => void;
  /** Delay between two looks at the history, the tasks and the deployments; also an idle stream's. */
  readonly pollIntervalMs: number;
  /** GetLogEvents calls per second, all streams together. */
  readonly maxLogsRps: number;
  /**
   * Read each log stream from this time instead of from its head.
   * @default the head of every stream
   */
  readonly sinceMs?: number;
  readonly interrupts: InterruptSource;
  /** Tells the user what the follower does on their behalf (not an event of the run). */
  readonly notify: (message: string) => void;
  /** On Ctrl+C stop the execution and follow on until it ended, instead of detaching. */
  readonly abortOnInterrupt: boolean;
  /**
   * The cause StopExecution records when Ctrl+C stops the run.
   * @default the one `tail-deploy --abort-on-interrupt` gives
   */
  readonly stopCause?: string;
  /**
   * How long to keep reading, once the execution ended, until its tasks stopped and their
   * streams are drained; a stream not drained by then makes the output incomplete.
   * @default DEFAULT_DRAIN_TIMEOUT_MS (5 minutes)
   */
  readonly drainTimeoutMs?: number;
}

/** How a follow ended. */
export interface FollowResult {
  status: RunStatus;
  exitCode: number;
  /** False when some task's log stream could not be read to its end. */
  complete: boolean;
}

/** How long the follow keeps draining log streams after the execution ended, by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5 * 60_000;

/** Throttling of CloudWatch Logs that lasts this long is told on stderr. */
export const THROTTLE_NOTICE_MS = 10_000;

/** Exit code of a run that SUCCEEDED while some of its log lines could not be read. */
export const EXIT_INCOMPLETE = 4;

/** The exit code for each way a run ends. */
export const EXIT_CODES: Record<RunStatus, number> = {
  SUCCEEDED: 0,
  FAILED: 1,
  ABORTED: 2,
  TIMED_OUT: 2,
  DETACHED: 130,
};

interface TrackedTask {
  phase: string;
  environment: string;
  step: string;
  taskArn: string;
  region: string;
  cluster: string;
  log: TaskLog;
  followed: boolean;
  /** How its log stream's follow ended, and why when it failed. */
  logEnd?: StreamEnd;
  logError?: string;
  stopped: boolean;
  reported: boolean;
  exitCode: number | null;
  durationMs: number | null;
  stopCode?: string;
  reason?: string;
  logLines: number;
  /** Exit code the history reported (a check's failures, or 0 once the phase succeeded). */
  historyExitCode?: number | null;
}

interface TrackedDeployment {
  environment: string;
  service: string;
  deploymentId: string;
  rollback: boolean;
  status: string;
  signature: string;
}

const TERMINAL_DEPLOYMENT = new Set(['Succeeded', 'Failed', 'Stopped']);
const STRUCTURAL_STATES = new Set(['Choice', 'Pass']);

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` → cluster name (`default` for old-style ARNs). */
export function clusterOfTaskArn(taskArn: string): string {
  const resource = taskArn.split(':').slice(5).join(':');
  const parts = resource.split('/');
  return parts.length >= 3 ? parts[1] : 'default';
}

const iso = (date: Date | number) => new Date(date).toISOString();

/** The container whose exit code counts: the one named in the log stream, else the first one. */
function exitCodeOf(task: Task, logStream: string | undefined): number | null {
  const containers = task.containers ?? [];
  const named = logStream?.split('/')[1];
  const container = containers.find((c) => c.name === named) ?? containers[0];
  return container?.exitCode ?? null;
}

/**
 * Follows one execution until it ends: reads its history incrementally, follows the log
 * streams of the tasks it started, watches those tasks and the deployments, and reports
 * all of it through `emit`, ending with a summary. Ctrl+C detaches (exit 130), or stops
 * the execution and follows on when `abortOnInterrupt` is set.
 */
export async function followRun(props: FollowRunProps): Promise<FollowResult> {
  const { clients, clock, emit, execution } = props;
  const executionArn = execution.executionArn;
  const history = new HistoryReader(clients.sfn(props.region), executionArn);
  const tasks = new Map<string, TrackedTask>();
  const streams = new Map<string, string>();
  const deployments = new Map<string, TrackedDeployment>();
  const rollbackSignatures = new Map<string, string>();
  const regionOfEnv = new Map<string, string>();
  const deniedOperations = new Set<string>();
  const targets = new DeploymentTargets((region) => clients.codedeploy(region));
  const reportedStartFailures = new Set<string>();
  let lastPhase: string | undefined;
  let release = releaseOf(parseInput(execution.input));
  let rollbackTo = rollbackToOf(parseInput(execution.input));
  let outcome: string | undefined;
  let end: { status: ExecutionEnd; time: Date; error?: string; cause?: string } | undefined;

  const now = () => iso(clock.nowMs());
  // A failure that repeats on every poll is reported when it starts, not on every poll.
  const lastErrors = new Map<string, string>();
  const error = (message: string, code?: string, source?: string) => {
    if (source !== undefined) {
      if (lastErrors.get(source) === message) return;
      lastErrors.set(source, message);
    }
    emit({ type: 'error', time: now(), message, ...(code ? { code } : {}) });
  };

  const limiter = new RateLimiter({ ratePerSecond: props.maxLogsRps, clock });
  const follower = new LogFollower({
    logsOf: (region) => clients.logs(region),
    limiter,
    clock,
    idlePollMs: props.pollIntervalMs,
    startTimeMs: props.sinceMs,
    onEvents: (stream, events) => {
      const task = tasks.get(stream.key);
      if (!task) return;
      for (const event of events) {
        task.logLines += 1;
        emit({
          type: 'log',
          time: iso(event.timestamp ?? clock.nowMs()),
          environment: task.environment,
          step: task.step,
          taskArn: task.taskArn,
          message: event.message ?? '',
        });
      }
    },
    onEnd: (stream, how, cause) => streamEnded(stream, how, cause),
  });

  function streamEnded(stream: StreamRef, how: StreamEnd, cause: unknown): void {
    const task = tasks.get(stream.key);
    if (!task) return;
    task.followed = false;
    task.logEnd = how;
    if (how === 'failed') {
      const name = cause instanceof Error ? cause.name : undefined;
      const permission =
        name === 'AccessDeniedException' ? ' (needs logs:GetLogEvents on that log group)' : '';
      task.logError = `${name ?? 'error'}${permission}: ${cause instanceof Error ? cause.message : String(cause)}`;
      error(
        `cannot read log stream ${stream.logGroup}/${stream.logStream} in ${stream.region}${permission}: ${cause instanceof Error ? cause.message : String(cause)}`,
        name,
      );
    }
    reportStopped(task);
  }

  // The throttling episode the user was told about, by its start.
  let throttleNoticeFor: number | undefined;
  /** Tells on stderr when CloudWatch Logs throttling holds the log lines back for long, and when it ends. */
  function noticeThrottling(): void {
    const since = limiter.throttlingSinceMs;
    const nowMs = clock.nowMs();
    if (since !== undefined && since !== throttleNoticeFor && nowMs - since >= THROTTLE_NOTICE_MS) {
      throttleNoticeFor = since;
      props.notify(
        `CloudWatch Logs has been throttling GetLogEvents for ${formatDuration(nowMs - since)}: log lines ` +
          'are delayed, none is skipped (each stream goes on from where it stopped). If it persists, ' +
          'lower --max-logs-rps or raise the GetLogEvents quota.',
      );
    } else if (since === undefined && throttleNoticeFor !== undefined) {
      props.notify(
        `CloudWatch Logs answers again after ${formatDuration(nowMs - throttleNoticeFor)} of throttling.`,
      );
      throttleNoticeFor = undefined;
    }
  }

  /** The tasks whose log stream was not read to its end, and why. */
  function incompleteLogs(drainTimeoutMs: number): IncompleteLog[] {
    const incomplete: IncompleteLog[] = [];
    for (const task of tasks.values()) {
      if (task.logEnd === 'drained' || task.logEnd === 'never-created') continue;
      let reason: string;
      if (task.logEnd === 'failed') reason = `reading it failed: ${task.logError ?? 'unknown error'}`;
      else if (!task.stopped) reason = 'its task was not seen to stop, so its end could not be awaited';
      else
        reason =
          `not drained within ${formatDuration(drainTimeoutMs)} after the run ended` +
          (limiter.throttlingSinceMs !== undefined ? ' (CloudWatch Logs was throttling GetLogEvents)' : '');
      incomplete.push({
        environment: task.environment,
        step: task.step,
        taskArn: task.taskArn,
        region: task.log.region,
        logGroup: task.log.logGroup,
        logStream: task.log.logStream,
        logLines: task.logLines,
        reason,
      });
    }
    return incomplete;
  }

  function reportStopped(task: TrackedTask): void {
    if (task.reported || !task.stopped || task.followed) return;
    task.reported = true;
    emit({
      type: 'task-stopped',
      time: now(),
      environment: task.environment,
      step: task.step,
      taskArn: task.taskArn,
      exitCode: task.exitCode,
      durationMs: task.durationMs,
      ...(task.stopCode ? { stopCode: task.stopCode } : {}),
      ...(task.reason ? { reason: task.reason } : {}),
    });
  }

  function onTasks(state: TaskPhaseState, time: Date): void {
    for (const ref of state.tasks) {
      if (ref.log) regionOfEnv.set(ref.environment, ref.log.region);
      let task = tasks.get(ref.taskArn);
      if (!task && ref.log) {
        task = {
          phase: state.phase,
          environment: ref.environment,
          step: ref.step,
          taskArn: ref.taskArn,
          region: ref.log.region,
          cluster: clusterOfTaskArn(ref.taskArn),
          log: ref.log,
          followed: true,
          stopped: false,
          reported: false,
          exitCode: null,
          durationMs: null,
          logLines: 0,
        };
        tasks.set(ref.taskArn, task);
        emit({
          type: 'task-started',
          time: iso(time),
          phase: state.phase,
          environment: ref.environment,
          step: ref.step,
          taskArn: ref.taskArn,
          region: ref.log.region,
          logGroup: ref.log.logGroup,
          logStream: ref.log.logStream,
        });
        streams.set(ref.taskArn, ref.log.logStream);
        follower.add({ key: ref.taskArn, ...ref.log });
      }
      if (task && state.status === 'SUCCEEDED') task.historyExitCode ??= 0;
    }
    for (const failure of state.failures) {
      const task = failure.taskArn ? tasks.get(failure.taskArn) : undefined;
      if (task) {
        task.historyExitCode = failure.exitCode;
      } else if (!failure.taskArn) {
        const key = `${failure.environment}/${failure.step}/${failure.reason}`;
        if (!reportedStartFailures.has(key)) {
          reportedStartFailures.add(key);
          error(`[${failure.environment}] ${failure.step} did not start: ${failure.reason}`);
        }
      }
    }
  }

  function onDeployments(state: DeployState): void {
    for (const ref of deploymentRefs(state.deployments)) {
      if (!deployments.has(ref.deploymentId)) {
        deployments.set(ref.deploymentId, { ...ref, rollback: false, status: 'Created', signature: '' });
      }
    }
  }

  function onRollbacks(state: RollbackState, time: Date): void {
    for (const ref of state.rollbacks) {
      const signature = `${ref.action}|${ref.rollbackDeploymentId ?? ''}|${ref.status ?? ''}`;
      const key = `${ref.environment}/${ref.service}/${ref.deploymentId}`;
      if (rollbackSignatures.get(key) !== signature) {
        rollbackSignatures.set(key, signature);
        emit({
          type: 'rollback',
          time: iso(time),
          environment: ref.environment,
          service: ref.service,
          deploymentId: ref.deploymentId,
          action: ref.action,
          ...(ref.rollbackDeploymentId ? { rollbackDeploymentId: ref.rollbackDeploymentId } : {}),
          ...(ref.status ? { status: ref.status } : {}),
        });
      }
      if (ref.rollbackDeploymentId && !deployments.has(ref.rollbackDeploymentId)) {
        deployments.set(ref.rollbackDeploymentId, {
          environment: ref.environment,
          service: ref.service,
          deploymentId: ref.rollbackDeploymentId,
          rollback: true,
          status: 'Created',
          signature: '',
        });
      }
    }
  }

  function apply(update: RunUpdate): void {
    switch (update.kind) {
      case 'started':
        release ??= releaseOf(update.input);
        rollbackTo ??= rollbackToOf(update.input);
        return;
      case 'plan':
        rollbackTo ??= update.plan.rollbackTo;
        for (const ended of update.plan.endedWaits ?? []) {
          for (const ref of deploymentRefs(ended.deployments)) {
            emit({ type: 'termination-wait-ended', time: iso(update.time), ...ref, release: ended.release });
          }
        }
        return;
      case 'state':
        if (STRUCTURAL_STATES.has(update.stateType) || update.name === lastPhase) return;
        lastPhase = update.name;
        emit({ type: 'phase', time: iso(update.time), state: update.name, stateType: update.stateType });
        return;
      case 'tasks':
        onTasks(update.state, update.time);
        return;
      case 'deployments':
        onDeployments(update.state);
        return;
      case 'rollbacks':
        onRollbacks(update.state, update.time);
        return;
      case 'announcement':
        outcome = update.announcement.outcome;
        return;
      case 'end':
        end = { status: update.status, time: update.time, error: update.error, cause: update.cause };
        return;
    }
  }

  function denied(operation: string, permission: string, region: string, cause: unknown): boolean {
    if (!(cause instanceof Error) || cause.name !== 'AccessDeniedException') return false;
    if (!deniedOperations.has(operation)) {
      deniedOperations.add(operation);
      error(
        `${operation} was denied in ${region}: grant ${permission} to follow it (${cause.message}).`,
        cause.name,
      );
    }
    return true;
  }

  /**
   * Without ecs:DescribeTasks, a task counts as stopped once the history says how it ended
   * (its phase's check) or the execution ended, so its stream is still drained and closed.
   */
  function stopFromHistory(): void {
    for (const task of tasks.values()) {
      if (task.stopped || (task.historyExitCode === undefined && !end)) continue;
      task.stopped = true;
      task.exitCode = task.historyExitCode ?? null;
      follower.markStopped(task.taskArn);
      reportStopped(task);
    }
  }

  async function lookAtTasks(): Promise<void> {
    if (deniedOperations.has('DescribeTasks')) return stopFromHistory();
    const groups = new Map<string, TrackedTask[]>();
    for (const task of tasks.values()) {
      if (task.stopped) continue;
      const key = `${task.region}\n${task.cluster}`;
      groups.set(key, [...(groups.get(key) ?? []), task]);
    }
    const calls = [...groups].flatMap(([key, group]) => {
      const [region, cluster] = key.split('\n');
      return chunk(group, DESCRIBE_TASKS_MAX).map(async (batch) => {
        try {
          const described = await clients
            .ecs(region)
            .send(new DescribeTasksCommand({ cluster, tasks: batch.map((t) => t.taskArn) }));
          for (const found of described.tasks ?? []) {
            const task = found.taskArn ? tasks.get(found.taskArn) : undefined;
            if (!task || found.lastStatus !== 'STOPPED') continue;
            const startMs = (found.startedAt ?? found.createdAt)?.getTime();
            const stopMs = found.stoppedAt?.getTime() ?? found.executionStoppedAt?.getTime();
            task.stopped = true;
            task.exitCode = exitCodeOf(found, streams.get(task.taskArn));
            task.durationMs = startMs !== undefined && stopMs !== undefined ? stopMs - startMs : null;
            task.stopCode = found.stopCode;
            task.reason = found.stoppedReason;
            follower.markStopped(task.taskArn);
            reportStopped(task);
          }
          for (const failure of described.failures ?? []) {
            const task = failure.arn ? tasks.get(failure.arn) : undefined;
            // ECS forgets stopped tasks after about an hour: the history still knows how they ended.
            if (!task || failure.reason !== 'MISSING') continue;
            task.stopped = true;
            task.exitCode = task.historyExitCode ?? null;
            task.reason = 'no longer known to ECS';
            follower.markStopped(task.taskArn);
            reportStopped(task);
          }
        } catch (cause) {
          if (!denied('DescribeTasks', 'ecs:DescribeTasks', region, cause)) {
            error(
              `DescribeTasks in ${region} failed, retrying: ${String(cause)}`,
              (cause as Error).name,
              `DescribeTasks ${region}`,
            );
          }
        }
      });
    });
    await Promise.all(calls);
  }

  async function lookAtDeployments(): Promise<void> {
    if (deniedOperations.has('BatchGetDeployments')) return;
    const open = [...deployments.values()].filter((d) => !TERMINAL_DEPLOYMENT.has(d.status));
    if (open.length === 0) return;
    let infos: Map<string, DeploymentInfo>;
    try {
      infos = await batchGetByRegion(
        (region) => clients.codedeploy(region),
        open.map((d) => ({
          region: regionOfEnv.get(d.environment) ?? props.region,
          deploymentId: d.deploymentId,
        })),
      );
    } catch (cause) {
      if (!denied('BatchGetDeployments', 'codedeploy:BatchGetDeployments', props.region, cause)) {
        error(
          `BatchGetDeployments failed, retrying: ${String(cause)}`,
          (cause as Error).name,
          'BatchGetDeployments',
        );
      }
      return;
    }
    const moved = await trafficMovedOf(open, infos);
    for (const deployment of open) {
      const info = infos.get(deployment.deploymentId);
      if (!info?.status) continue;
      const trafficShifted = hasTrafficMoved(info, moved.has(deployment.deploymentId));
      const message =
        info.errorInformation?.message ??
        info.deploymentStatusMessages?.at(-1) ??
        info.rollbackInfo?.rollbackMessage;
      const signature = `${info.status}|${trafficShifted}|${message ?? ''}`;
      deployment.status = info.status;
      if (signature === deployment.signature) continue;
      deployment.signature = signature;
      emit({
        type: 'deployment',
        time: now(),
        environment: deployment.environment,
        service: deployment.service,
        deploymentId: deployment.deploymentId,
        status: info.status,
        trafficShifted,
        rollback: deployment.rollback,
        ...(message ? { message } : {}),
      });
    }
  }

  /**
   * Ids of the in-flight deployments whose ECS target Succeeded: CodeDeploy keeps
   * instanceTerminationWaitTimeStarted false for ECS, so the target tells that traffic moved.
   */
  async function trafficMovedOf(
    open: TrackedDeployment[],
    infos: Map<string, DeploymentInfo>,
  ): Promise<Set<string>> {
    if (deniedOperations.has('ListDeploymentTargets')) return new Set();
    try {
      return await targets.trafficMoved(
        open.flatMap((d) => {
          const info = infos.get(d.deploymentId);
          return info ? [{ region: regionOfEnv.get(d.environment) ?? props.region, info }] : [];
        }),
      );
    } catch (cause) {
      const permission = 'codedeploy:ListDeploymentTargets and codedeploy:BatchGetDeploymentTargets';
      if (!denied('ListDeploymentTargets', permission, props.region, cause)) {
        error(
          `Reading deployment targets failed, retrying: ${String(cause)}`,
          (cause as Error).name,
          'ListDeploymentTargets',
        );
      }
      return new Set();
    }
  }

  // Ctrl+C: resolve the current wait at once.
  let interrupts = 0;
  let wakeOnInterrupt: (() => void) | undefined;
  const stopListening = props.interrupts(() => {
    interrupts += 1;
    wakeOnInterrupt?.();
  });
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wakeOnInterrupt = resolve;
      void clock.sleep(ms).then(resolve);
    });
  let abortRequested = false;

  const detached = (): FollowResult => {
    follower.close();
    emit(summary('DETACHED', EXIT_CODES.DETACHED, []));
    return { status: 'DETACHED', exitCode: EXIT_CODES.DETACHED, complete: false };
  };

  function summary(status: RunStatus, exitCode: number, incomplete: IncompleteLog[]): SummaryEvent {
    const startMs = execution.startDate?.getTime();
    const stopMs = end?.time.getTime() ?? execution.stopDate?.getTime();
    const reportedDeployments = [...deployments.values()].filter((d) => !d.rollback);
    return {
      type: 'summary',
      time: now(),
      executionArn,
      ...(release ? { release } : {}),
      ...(rollbackTo ? { rollbackTo } : {}),
      status,
      ...(outcome ? { outcome } : {}),
      exitCode,
      complete: status !== 'DETACHED' && incomplete.length === 0,
      ...(incomplete.length > 0 ? { incomplete } : {}),
      durationMs: startMs !== undefined && stopMs !== undefined ? stopMs - startMs : null,
      ...(end?.error ? { error: end.error } : {}),
      ...(end?.cause ? { cause: end.cause } : {}),
      tasks: [...tasks.values()].map((t) => ({
        environment: t.environment,
        step: t.step,
        taskArn: t.taskArn,
        exitCode: t.stopped ? t.exitCode : (t.historyExitCode ?? null),
        logLines: t.logLines,
      })),
      deployments: reportedDeployments.map((d) => ({
        environment: d.environment,
        service: d.service,
        deploymentId: d.deploymentId,
        status: d.status,
      })),
    };
  }

  try {
    while (!end) {
      if (interrupts > 0 && !props.abortOnInterrupt) return detached();
      if (interrupts > 1) return detached();
      if (interrupts === 1 && !abortRequested) {
        abortRequested = true;
        try {
          await clients.sfn(props.region).send(
            new StopExecutionCommand({
              executionArn,
              error: 'Interrupted',
              cause:
                props.stopCause ??
                'Stopped by tail-deploy --abort-on-interrupt; the cleanup rolls the run back.',
            }),
          );
          props.notify(`stopping ${executionArn}; following until it ended (Ctrl+C again to detach).`);
        } catch (cause) {
          error(
            `${describeReadFailure('StopExecution', 'states:StopExecution', executionArn, props.region, cause)} The run goes on; Ctrl+C again to detach.`,
            cause instanceof Error ? cause.name : undefined,
          );
        }
      }
      let fresh: HistoryEvent[] = [];
      try {
        fresh = await history.read();
      } catch (cause) {
        const why = describeReadFailure(
          'GetExecutionHistory',
          'states:GetExecutionHistory',
          executionArn,
          props.region,
          cause,
        );
        if (isFatalReadError(cause)) throw new UnreadableRunError(why, { cause });
        error(`${why}; retrying.`, cause instanceof Error ? cause.name : undefined, 'GetExecutionHistory');
      }
      for (const event of fresh) {
        const update = interpret(event);
        if (update) apply(update);
      }
      await Promise.all([lookAtTasks(), lookAtDeployments()]);
      noticeThrottling();
      if (!end) await pause(props.pollIntervalMs);
    }

    // The execution ended: let its tasks stop and their streams drain, within a bound.
    const drainTimeoutMs = props.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    const deadlineMs = clock.nowMs() + drainTimeoutMs;
    for (;;) {
      await Promise.all([lookAtTasks(), lookAtDeployments()]);
      noticeThrottling();
      const pending = [...tasks.values()].some((t) => !t.reported);
      if (!pending || clock.nowMs() >= deadlineMs) break;
      if (interrupts > 0 && !props.abortOnInterrupt) return detached();
      if (interrupts > 1) return detached();
      await pause(Math.min(props.pollIntervalMs, 250));
    }
    follower.close();
    const incomplete = incompleteLogs(drainTimeoutMs);
    if (incomplete.length > 0) {
      props.notify(
        `the output is incomplete: ${incomplete.length} log stream(s) were not read to their end.\n` +
          incomplete
            .map(
              (log) =>
                `  [${log.environment}] ${log.step}: ${log.logLines} line(s) printed, ${log.reason}; the rest: ` +
                `aws logs get-log-events --region ${log.region} --log-group-name ${log.logGroup} ` +
                `--log-stream-name ${log.logStream} --start-from-head`,
            )
            .join('\n'),
      );
    }
    // A failed run's own exit code says more than the missing lines; a succeeded one must not claim it all.
    const exitCode =
      incomplete.length > 0 && end.status === 'SUCCEEDED' ? EXIT_INCOMPLETE : EXIT_CODES[end.status];
    emit(summary(end.status, exitCode, incomplete));
    return { status: end.status, exitCode, complete: incomplete.length === 0 };
  } finally {
    stopListening();
    follower.close();
  }
}

function parseInput(text: string | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The earlier release a rollback's execution input names, if it is one. */
export function rollbackToOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const rollbackTo = (input as { rollbackTo?: unknown }).rollbackTo;
  return typeof rollbackTo === 'string' ? rollbackTo : undefined;
}

/** The release an execution input names, if it names one. */
export function releaseOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const release = (input as { release?: unknown }).release;
  return typeof release === 'string' ? release : undefined;
}
