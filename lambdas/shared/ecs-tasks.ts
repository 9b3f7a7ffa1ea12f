// No SDK import at run time here: this module serves handlers of every service, and a
// bundled handler loads each SDK package any of its modules imports, used or not.
import type { DeployConfig, EnvironmentConfig } from './config.js';
import { ValidationError } from './errors.js';
import type { Phase, TaskFailure } from './types.js';

/** Step name of the migration task. */
export const MIGRATE_STEP = 'migrate';

/** One task a phase runs in one environment. */
export interface PhaseTask {
  step: string;
  container: string;
  command: string[];
}

/**
 * The configured environment named `name`; a `ValidationError` when there is none, naming
 * `field` (the event field the name came from) when given.
 */
export function environmentOf(config: DeployConfig, name: string, field?: string): EnvironmentConfig {
  const environment = config.environments.find((candidate) => candidate.name === name);
  if (!environment) {
    const configured = config.environments.map((candidate) => candidate.name).join(', ');
    const what = field ? `${field}: environment` : 'Environment';
    throw new ValidationError(
      `${what} "${name}" is not configured; configured: ${configured}. Plan only picks configured environments: start a new execution so Plan runs against the current configuration.`,
    );
  }
  return environment;
}

/** What a phase runs in one environment: the migration, or one task per configured step. */
export function phaseTasks(
  config: DeployConfig,
  phase: Phase,
  environment: EnvironmentConfig,
  skipMigrations: boolean,
): PhaseTask[] {
  switch (phase) {
    case 'migrate':
      return environment.migration && !skipMigrations
        ? [{ step: MIGRATE_STEP, ...environment.migration }]
        : [];
    case 'pre-deploy':
      return config.preDeploySteps.map(({ name, container, command }) => ({
        step: name,
        container,
        command,
      }));
    case 'post-deploy':
      return config.postDeploySteps.map(({ name, container, command }) => ({
        step: name,
        container,
        command,
      }));
  }
}

/** The container whose exit code decides a step's outcome; undefined for a step no longer configured. */
export function stepContainer(
  config: DeployConfig,
  environment: EnvironmentConfig,
  step: string,
): string | undefined {
  if (step === MIGRATE_STEP && environment.migration) return environment.migration.container;
  return [...config.preDeploySteps, ...config.postDeploySteps].find((candidate) => candidate.name === step)
    ?.container;
}

/** `family:revision` of a task definition ARN (or of a `family:revision` already). */
export function revisionOf(taskDefinitionArn: string): string {
  return taskDefinitionArn.slice(taskDefinitionArn.lastIndexOf('/') + 1);
}

/** The family of a task definition ARN or revision. */
export function familyOf(taskDefinition: string): string {
  const revision = revisionOf(taskDefinition);
  const colon = revision.lastIndexOf(':');
  return colon < 0 ? revision : revision.slice(0, colon);
}

/** The task id, the last part of a task ARN (both the old and the long ARN format). */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

/** The Region of an ARN (`arn:aws:states:us-east-1:...`). */
export function regionOfArn(arn: string): string {
  const region = arn.split(':')[3];
  if (!region)
    throw new ValidationError(`"${arn}" is not an ARN with a Region: pass the ARN Step Functions gives.`);
  return region;
}

/**
 * How long after RunTask a task DescribeTasks answers MISSING is still taken as starting. The ECS
 * API is eventually consistent: a task RunTask started may not show yet, and AWS advises looking
 * again with backoff for up to about five minutes
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
 */
export const MISSING_GRACE_MS = 5 * 60_000;

/** DescribeTasks takes at most 100 tasks per call. */
export const DESCRIBE_TASKS_MAX = 100;

/** Splits `items` into runs of at most `size`, the batch sizes the describe and batch-get APIs take. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** One readable line per failure: `eu/migrate: exit code 1, stop code EssentialContainerExited: reason`. */
export function describeTaskFailure(failure: TaskFailure): string {
  const facts = [failure.exitCode === null ? 'no exit code' : `exit code ${failure.exitCode}`];
  if (failure.stopCode) facts.push(`stop code ${failure.stopCode}`);
  return `${failure.environment}/${failure.step}: ${facts.join(', ')}: ${failure.reason}`;
}

const FAILURE_LINE =
  /^([A-Za-z0-9_-]{1,32})\/([A-Za-z0-9_-]{1,32}): (?:exit code (-?\d+)|no exit code)(?:, stop code ([A-Za-z]+))?: (.*)$/;

/**
 * Reads back the failures a `TaskFailedError` message lists (the lines
 * `describeTaskFailure` writes), so StopTasks can report them per environment when the
 * phase threw instead of returning its state.
 */
export function parseTaskFailures(text: string): TaskFailure[] {
  return text.split('\n').flatMap((line) => {
    const match = FAILURE_LINE.exec(line.trim());
    if (!match) return [];
    const [, environment, step, exitCode, stopCode, reason] = match;
    const failure: TaskFailure = {
      environment,
      step,
      exitCode: exitCode === undefined ? null : Number(exitCode),
      reason,
    };
    if (stopCode) failure.stopCode = stopCode;
    return [failure];
  });
}

/** StopTask takes a reason of at most 255 characters. */
const STOP_REASON_MAX = 255;

/** The StopTask reason for the tasks a failure takes down: `stepdeploy: stopped because eu/migrate exited 1: ...`. */
export function stopReasonOf(failures: readonly TaskFailure[]): string {
  const summary =
    failures
      .map((failure) => {
        const what = failure.exitCode === null ? 'failed' : `exited ${failure.exitCode}`;
        return `${failure.environment}/${failure.step} ${what}: ${failure.reason}`;
      })
      .join('; ') || 'the phase failed';
  const reason = `stepdeploy: stopped because ${summary}`;
  return reason.length <= STOP_REASON_MAX ? reason : `${reason.slice(0, STOP_REASON_MAX - 1)}…`;
}
