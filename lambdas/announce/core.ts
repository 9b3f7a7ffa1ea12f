import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { failureOf, inCall } from '../shared/aws-errors.js';
import { describeBreach } from '../shared/breaches.js';
import { causeText } from '../shared/caught-error.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import { describeTaskFailure, regionOfArn } from '../shared/ecs-tasks.js';
import { AnnouncementFailedError, ERROR_NAMES } from '../shared/errors.js';
import type {
  AlarmBreach,
  Announcement,
  CaughtError,
  Outcome,
  TaskFailure,
  TaskPhaseState,
} from '../shared/types.js';
import type { AnnounceEvent, AnnounceState } from './schema.js';

/** The clients Announce calls: EventBridge. */
export type AnnounceClients = Pick<Clients, 'events'>;

/** What Announce needs from the outside world. */
export interface AnnounceDeps {
  clients: AnnounceClients;
  clock: Clock;
  config: DeployConfig;
}

/** The `source` of every event stepdeploy puts on EventBridge. */
export const EVENT_SOURCE = 'stepdeploy';

/** The detail type of each outcome. */
export const DETAIL_TYPES: Record<Outcome, Announcement['detailType']> = {
  SUCCEEDED: 'Release Succeeded',
  FAILED: 'Release Failed',
  ROLLED_BACK: 'Release Rolled Back',
};

/**
 * The entry errors EventBridge calls retryable
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
 */
const RETRYABLE_ENTRY_ERRORS: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

/** PutEvents attempts for an entry that fails with a retryable error, 1 s, 2 s, 4 s apart. */
const PUT_ATTEMPTS = 4;
const PUT_RETRY_BASE_MS = 1_000;

/** Failures listed in an event's detail; the cause lists them all. */
const DETAIL_FAILURES_MAX = 20;
/** A Fail state's cause takes 32,768 characters; stay well below. */
const CAUSE_MAX = 8_000;

/**
 * The run's outcome: rolled back when a rollback ran (FAILED if it did not get back);
 * FAILED on a caught error or a failed pre-deploy step, migration or deployment;
 * else SUCCEEDED, failed post-deploy steps and old workers left running notwithstanding.
 */
export function decideOutcome(state: AnnounceState): Outcome {
  if (state.rollback) return state.rollback.status === 'FAILED' ? 'FAILED' : 'ROLLED_BACK';
  const failed = [state.preDeploy, state.migrate, state.deploy, state.bake].some(
    (part) => part?.status === 'FAILED',
  );
  return state.error || failed ? 'FAILED' : 'SUCCEEDED';
}

/** The error name the Fail state shows for a run that did not succeed. */
export function errorNameOf(state: AnnounceState): string {
  if (state.rollback?.status === 'FAILED') return ERROR_NAMES.rollbackFailed;
  if (state.error) return state.error.Error;
  if (state.preDeploy?.status === 'FAILED' || state.migrate?.status === 'FAILED')
    return ERROR_NAMES.taskFailed;
  return ERROR_NAMES.deploymentFailed;
}

const PHASES = [
  ['pre-deploy', 'preDeploy'],
  ['migrate', 'migrate'],
  ['post-deploy', 'postDeploy'],
] as const;

function phaseFailures(state: AnnounceState, key: 'preDeploy' | 'migrate' | 'postDeploy'): TaskFailure[] {
  const phase: TaskPhaseState | undefined = state[key];
  return phase?.status === 'FAILED' ? phase.failures : [];
}

/** Readable lines, one per failed task, deployment and rollback: what the Fail state's cause shows. */
export function failureLines(state: AnnounceState): string[] {
  const lines: string[] = [];
  for (const [phase, key] of PHASES) {
    const failures = phaseFailures(state, key);
    if (failures.length > 0)
      lines.push(`${phase} failed:`, ...failures.map((failure) => `  ${describeTaskFailure(failure)}`));
  }
  const deployFailures = state.deploy?.failures ?? [];
  if (deployFailures.length > 0) {
    lines.push(
      'deployments failed:',
      ...deployFailures.map(
        (failure) =>
          `  ${failure.environment}/${failure.service}: ${failure.deploymentId} ${failure.status}: ${failure.reason}`,
      ),
    );
  }
  const alarms = alarmsOf(state);
  if (alarms.length > 0)
    lines.push('alarms went into ALARM:', ...alarms.map((breach) => `  ${describeBreach(breach)}`));
  const rollbacks = state.rollback?.rollbacks ?? [];
  if (rollbacks.length > 0) {
    lines.push(
      `rollbacks ${state.rollback?.status.toLowerCase()}:`,
      ...rollbacks.map((rollback) => {
        const via = rollback.rollbackDeploymentId ? ` via ${rollback.rollbackDeploymentId}` : '';
        return `  ${rollback.environment}/${rollback.service}: ${rollback.action}${via}: ${rollback.status ?? 'in flight'}`;
      }),
    );
  }
  return lines;
}

/** The alarms that failed a wave, while it deployed or baked. */
function alarmsOf(state: AnnounceState): AlarmBreach[] {
  return [...(state.deploy?.alarms ?? []), ...(state.bake?.status === 'FAILED' ? state.bake.alarms : [])];
}

function errorLine(label: string, error: CaughtError): string {
  return `${label}${error.Error}: ${causeText(error).split('\n')[0]}`;
}

/** The earlier release a rollback run deploys: from the plan, or from the input when Plan refused it. */
export function rollbackToOf(state: AnnounceState): string | undefined {
  return state.plan?.rollbackTo ?? state.rollbackTo;
}

/** The one-line summary the event carries; a rollback names the release it went back to. */
export function summaryOf(state: AnnounceState, outcome: Outcome): string {
  const rollbackTo = rollbackToOf(state);
  const release =
    `${state.release ?? '(no valid release name)'}` +
    (rollbackTo === undefined ? '' : ` (rollback to release ${rollbackTo})`);
  const where = (state.plan?.environments ?? state.environments ?? []).join(', ') || 'no environment';
  if (outcome === 'SUCCEEDED') {
    const notes: string[] = [];
    const postDeploy = phaseFailures(state, 'postDeploy');
    if (postDeploy.length > 0)
      notes.push(`post-deploy steps failed: ${postDeploy.map(shortTaskFailure).join(', ')}`);
    if (state.postDeployError && postDeploy.length === 0)
      notes.push(errorLine('post-deploy steps failed: ', state.postDeployError));
    if (state.retireError) notes.push(errorLine('old workers not retired: ', state.retireError));
    const done =
      rollbackTo === undefined
        ? `succeeded in ${where}`
        : `succeeded: ${where} run release ${rollbackTo}'s task definitions again`;
    return `Release ${release} ${done}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}.`;
  }
  const why = whyFailed(state);
  const kept = state.rollback?.kept ?? [];
  if (outcome === 'ROLLED_BACK' && kept.length > 0) {
    const back = (state.plan?.environments ?? []).filter((name) => !kept.includes(name)).join(', ');
    return `Release ${release} rolled back in ${back || 'no environment'} (${kept.join(', ')} keep it): ${why}.`;
  }
  return outcome === 'ROLLED_BACK'
    ? `Release ${release} rolled back in ${where}: ${why}.`
    : `Release ${release} failed in ${where}: ${why}.`;
}

function shortTaskFailure(failure: TaskFailure): string {
  const code =
    failure.exitCode === null ? (failure.stopCode ?? 'no exit code') : `exit code ${failure.exitCode}`;
  return `${failure.environment}/${failure.step} (${code})`;
}

function whyFailed(state: AnnounceState): string {
  if (state.rollback?.status === 'FAILED') {
    const stuck = state.rollback.rollbacks.filter(
      (rollback) =>
        rollback.back === false ||
        (rollback.back === undefined && rollback.status !== 'Succeeded' && rollback.action !== 'none'),
    );
    return `rollback did not get back: ${stuck.map((rollback) => `${rollback.environment}/${rollback.service}`).join(', ')}`;
  }
  for (const [phase, key] of PHASES) {
    const failures = phaseFailures(state, key);
    if (key !== 'postDeploy' && failures.length > 0)
      return `${phase} failed: ${failures.map(shortTaskFailure).join(', ')}`;
  }
  const alarms = alarmsOf(state);
  if (alarms.length > 0) {
    return `alarm in ALARM: ${alarms.map((breach) => `${breach.environment}/${breach.alarmName}`).join(', ')}`;
  }
  const deployFailures = state.deploy?.failures ?? [];
  if (deployFailures.length > 0) {
    return `deployment failed: ${deployFailures.map((failure) => `${failure.environment}/${failure.service} (${failure.status})`).join(', ')}`;
  }
  if (state.error) return errorLine('', state.error);
  return 'a deployment failed';
}

/**
 * The Fail state's cause: the caught error first (it names the call that failed, where, and what
 * had already been done), then every failure line (tasks, deployments, rollbacks).
 */
export function causeOf(state: AnnounceState): string {
  const lines = failureLines(state);
  if (state.error) lines.unshift(`${state.error.Error}: ${causeText(state.error)}`);
  const cause = lines.join('\n');
  return cause.length <= CAUSE_MAX ? cause : `${cause.slice(0, CAUSE_MAX - 1)}…`;
}

/** The decision, without side effects: what Announce returns. */
export function announcementOf(state: AnnounceState): Announcement {
  const outcome = decideOutcome(state);
  const announcement: Announcement = {
    outcome,
    detailType: DETAIL_TYPES[outcome],
    summary: summaryOf(state, outcome),
  };
  if (outcome !== 'SUCCEEDED') {
    announcement.error = errorNameOf(state);
    announcement.cause = causeOf(state);
  }
  return announcement;
}

/**
 * Puts the run's outcome on the configured event bus and returns it for the final Choice. An
 * entry EventBridge reports failed is put again while its error is retryable (an entry that
 * failed was not put, so no duplicate), and `AnnouncementFailedError` says what was not
 * announced when it cannot be: the run then fails instead of ending as if it had been.
 */
export async function announce(event: AnnounceEvent, deps: AnnounceDeps): Promise<Announcement> {
  const { state, executionArn } = event;
  const announcement = announcementOf(state);
  const failures = [
    ...PHASES.flatMap(([phase, key]) => phaseFailures(state, key).map((failure) => ({ phase, ...failure }))),
    ...(state.deploy?.failures ?? []).map((failure) => ({ phase: 'deploy', ...failure })),
  ];
  const detail = {
    release: state.release ?? null,
    ...(rollbackToOf(state) === undefined ? {} : { rollbackTo: rollbackToOf(state) }),
    outcome: announcement.outcome,
    summary: announcement.summary,
    executionArn,
    environments: state.plan?.environments ?? state.environments ?? [],
    failures: failures.slice(0, DETAIL_FAILURES_MAX),
    ...(announcement.error ? { error: announcement.error } : {}),
  };
  const bus = deps.config.eventBusName;
  const region = regionOfArn(bus.startsWith('arn:') ? bus : executionArn);
  const entry = {
    Source: EVENT_SOURCE,
    DetailType: announcement.detailType,
    Detail: JSON.stringify(detail),
    EventBusName: bus,
    Resources: [executionArn],
    Time: new Date(deps.clock.nowMs()),
  };
  for (let attempt = 1; ; attempt += 1) {
    const output = await inCall('PutEvents', `bus ${bus} (${region})`, () =>
      deps.clients.events(region).send(new PutEventsCommand({ Entries: [entry] })),
    ).catch((error: unknown) => {
      throw failureOf(error, 'Announce', `the outcome was not announced: ${announcement.summary}`);
    });
    // PutEvents does not throw for an entry it could not put: it reports it in FailedEntryCount.
    if ((output.FailedEntryCount ?? 0) === 0) return announcement;
    const failed = output.Entries?.find((candidate) => candidate.ErrorCode);
    const code = failed?.ErrorCode ?? 'unknown error';
    const retryable = RETRYABLE_ENTRY_ERRORS.has(code);
    if (!retryable || attempt >= PUT_ATTEMPTS) {
      throw new AnnouncementFailedError(
        `EventBridge refused the "${announcement.detailType}" event on bus "${bus}": ${code}` +
          `${failed?.ErrorMessage ? ` (${failed.ErrorMessage})` : ''}` +
          `${retryable ? `, ${attempt} times` : ''}. The run's outcome was not announced: ${announcement.summary} ` +
          (retryable
            ? 'Redrive the execution to announce it again.'
            : 'Check that the bus exists and the function may put events on it, then redrive the execution.'),
      );
    }
    await deps.clock.sleep(PUT_RETRY_BASE_MS * 2 ** (attempt - 1));
  }
}
