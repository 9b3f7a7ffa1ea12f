import { failureOf } from '../shared/aws-errors.js';
import { boundFailures } from '../shared/bounds.js';
import { causeText } from '../shared/caught-error.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import { environmentOf, parseTaskFailures, stopReasonOf } from '../shared/ecs-tasks.js';
import { stopRunTasks } from '../shared/stop-run-tasks.js';
import type { TaskFailure, TaskPhaseState } from '../shared/types.js';
import type { StopTasksEvent } from './schema.js';

/** The clients StopTasks calls: ECS. */
export type StopTasksClients = Pick<Clients, 'ecs'>;

/** What StopTasks needs from the outside world. */
export interface StopTasksDeps {
  clients: StopTasksClients;
  clock: Clock;
  config: DeployConfig;
}

/**
 * The failures to report: the phase state's own, else the ones the caught error's message
 * lists, else the error itself as one failure of the whole phase (environment `*`).
 */
export function failuresOf(event: Pick<StopTasksEvent, 'phase' | 'state' | 'error'>): TaskFailure[] {
  if (event.state && event.state.failures.length > 0) return event.state.failures;
  if (!event.error) {
    return [
      {
        environment: '*',
        step: event.phase,
        exitCode: null,
        reason: 'the phase failed without a reported cause',
      },
    ];
  }
  const text = causeText(event.error);
  const listed = parseTaskFailures(text);
  if (listed.length > 0) return listed;
  const firstLine = text.split('\n')[0] ?? '';
  return [
    { environment: '*', step: event.phase, exitCode: null, reason: `${event.error.Error}: ${firstLine}` },
  ];
}

/**
 * Stops every task this run still has running, in every environment of the plan, found by
 * `startedBy` rather than by the state, so tasks a failed StartTasks left behind are found
 * too. Stopping is idempotent and harmless when nothing runs.
 */
export async function stopTasks(event: StopTasksEvent, deps: StopTasksDeps): Promise<TaskPhaseState> {
  const bounded = boundFailures(failuresOf(event));
  const reason = stopReasonOf(bounded.failures);
  const results = await Promise.allSettled(
    event.plan.environments.map((name) =>
      stopRunTasks(deps.clients, environmentOf(deps.config, name), event.plan.runId, reason),
    ),
  );
  const stopped = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) {
    throw failureOf(
      failed.reason,
      'StopTasks',
      `the tasks of the other environments were asked to stop (${stopped.length}); a retry stops what still runs`,
    );
  }
  const omitted = bounded.omitted + (event.state?.omittedFailures ?? 0);
  return {
    phase: event.phase,
    tasks: (event.state?.tasks ?? []).map(({ environment, step, taskArn }) => ({
      environment,
      step,
      taskArn,
    })),
    status: 'FAILED',
    failures: bounded.failures,
    ...(omitted > 0 ? { omittedFailures: omitted } : {}),
    stopped,
  };
}
