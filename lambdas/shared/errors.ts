/**
 * Errors raised by the handlers. Each class names itself in `name`: Lambda reports it as
 * the error type, and the state machine's Catch clauses match on it. The name is written
 * out rather than taken from the constructor because the bundles are minified, which
 * renames classes.
 */
export class StepdeployError extends Error {
  override name: string = 'StepdeployError';
}

/** The execution input or the configuration is invalid; nothing was started. */
export class ValidationError extends StepdeployError {
  override name = 'ValidationError';
}

/** Another execution of this state machine is running; nothing was started. */
export class DeployInProgressError extends StepdeployError {
  override name = 'DeployInProgressError';
}

/** A task of a phase failed to start, exited non-zero or stopped without an exit code. */
export class TaskFailedError extends StepdeployError {
  override name = 'TaskFailedError';
}

/**
 * A task phase cannot tell whether its tasks were started already: the run is older than
 * RunTask's client token lasts and ECS shows no task of it. Nothing was started.
 */
export class StaleRunError extends StepdeployError {
  override name = 'StaleRunError';
}

/** A foreign CodeDeploy deployment is active on a deployment group; nothing was created. */
export class ForeignDeploymentError extends StepdeployError {
  override name = 'ForeignDeploymentError';
}

/**
 * An earlier release's deployment whose termination wait Plan ended is still terminating its
 * original tasks, so its group takes no new deployment yet; nothing failed. The state machine
 * retries StartDeployments, which adopts the deployments it already created.
 */
export class PreviousDeploymentFinishingError extends StepdeployError {
  override name = 'PreviousDeploymentFinishingError';
}

/** A CodeDeploy deployment failed, was stopped or timed out. */
export class DeploymentFailedError extends StepdeployError {
  override name = 'DeploymentFailedError';
}

/** A rollback did not bring a deployment group back to its previous revision. */
export class RollbackFailedError extends StepdeployError {
  override name = 'RollbackFailedError';
}

/** Rollbacks were still going when the cleanup's time ran out; its retry follows them again. */
export class RollbackInFlightError extends StepdeployError {
  override name = 'RollbackInFlightError';
}

/** Old worker tasks could not all be retired; the release itself succeeded. */
export class RetireFailedError extends StepdeployError {
  override name = 'RetireFailedError';
}

/** EventBridge did not accept the announcement of a run's outcome. */
export class AnnouncementFailedError extends StepdeployError {
  override name = 'AnnouncementFailedError';
}

/**
 * An AWS call failed transiently (throttling, a server error, a timeout, the network) after the
 * SDK's own retries: nothing was decided. Every handler is idempotent, so the state machine runs
 * it again with backoff (`TRANSIENT_RETRY` in statemachine/invoke.ts); the message names the call,
 * where it was made and what the handler had already done.
 */
export class TransientError extends StepdeployError {
  override name = 'TransientError';
}

/** Names of the error classes, as the Catch clauses of the state machine use them. */
export const ERROR_NAMES = {
  validation: 'ValidationError',
  deployInProgress: 'DeployInProgressError',
  taskFailed: 'TaskFailedError',
  staleRun: 'StaleRunError',
  foreignDeployment: 'ForeignDeploymentError',
  previousDeploymentFinishing: 'PreviousDeploymentFinishingError',
  deploymentFailed: 'DeploymentFailedError',
  rollbackFailed: 'RollbackFailedError',
  rollbackInFlight: 'RollbackInFlightError',
  retireFailed: 'RetireFailedError',
  announcementFailed: 'AnnouncementFailedError',
  transient: 'TransientError',
} as const;
