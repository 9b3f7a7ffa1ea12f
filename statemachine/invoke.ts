import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERROR_NAMES } from '../lambdas/shared/errors.js';
import type { FlowHandler } from './handlers.js';

/** The errors Lambda itself raises (as opposed to the handler): always worth retrying. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.Unknown',
];

/**
 * The retry of Lambda's own errors, which every Lambda task has. Handler errors are not retried
 * (but `TransientError`): each names a failure the flow handles with a Catch, and retrying them
 * would only delay it.
 */
export const LAMBDA_SERVICE_RETRY: sfn.RetryProps = {
  errors: LAMBDA_SERVICE_ERRORS,
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * The error a Lambda task fails with when the function ran past its timeout: the Node.js
 * runtime reports it as `Sandbox.Timedout` (older runtimes gave no error type, which Step
 * Functions reports as `Lambda.Unknown`, already retried above).
 */
export const LAMBDA_TIMEOUT_ERROR = 'Sandbox.Timedout';

/**
 * The retry of a Lambda task whose function timed out. Every handler may be retried: the
 * checks (CheckTasks, CheckDeployments, Bake, AwaitRollbacks) only read; the others are idempotent,
 * so a retry of one that timed out after acting finds what it did and adds nothing: Plan
 * reuses the revisions tagged with the release, StartTasks reruns RunTask with the same
 * client tokens, StopTasks stops what still runs, StartDeployments adopts the deployments
 * carrying its marker, CutOver continues only the deployments still Ready (the ones it continued
 * move traffic), RollBack adopts the rollbacks it or CodeDeploy made, RetireOldWorkers
 * ends termination waits already ended, and Announce puts the outcome again (EventBridge
 * delivers at least once: consumers already expect a duplicate).
 */
export const LAMBDA_TIMEOUT_RETRY: sfn.RetryProps = {
  errors: [LAMBDA_TIMEOUT_ERROR],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 2,
};

/**
 * The retry of a handler whose AWS call failed transiently (throttling, a server error, a timeout,
 * the network) after the SDK's own retries: it raises `TransientError`, which decides nothing, and
 * every handler is idempotent (see `LAMBDA_TIMEOUT_RETRY`), so the state runs it again, backing off
 * (5 s, then twice as long each time, up to a minute, with full jitter) for 6 more attempts before
 * its Catch takes the error.
 */
export const TRANSIENT_RETRY: sfn.RetryProps = {
  errors: [ERROR_NAMES.transient],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

/** Seconds the state waits beyond the function's own timeout, so Lambda's timeout is the one that fires. */
const STATE_TIMEOUT_MARGIN = Duration.seconds(30);

/** What one Lambda task state sends and where its result goes. */
export interface InvokeProps {
  /** The handler to invoke. */
  readonly handler: FlowHandler;
  /** The event, as a payload template (`JsonPath.*` values are resolved by the state machine). */
  readonly payload: Record<string, unknown>;
  /** Where the handler's result is written in the state. */
  readonly resultPath: string;
  /** Shown in the console next to the state. */
  readonly comment?: string;
}

/**
 * A Lambda task state whose output is the handler's result (`payloadResponseOnly`),
 * retried on Lambda service errors, on the function's timeout and on `TransientError` only.
 */
export function invoke(scope: Construct, name: string, props: InvokeProps): tasks.LambdaInvoke {
  const state = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: props.handler.fn,
    // Every handler gets the execution, so each of its log lines names the run it belongs to.
    payload: sfn.TaskInput.fromObject({ ...props.payload, executionArn: sfn.JsonPath.executionId }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: props.resultPath,
    comment: props.comment,
    // An explicit timeout: runners that default to a short one must not cut a long-poll check.
    taskTimeout: sfn.Timeout.duration(props.handler.timeout.plus(STATE_TIMEOUT_MARGIN)),
  });
  state.addRetry(LAMBDA_SERVICE_RETRY);
  state.addRetry(LAMBDA_TIMEOUT_RETRY);
  state.addRetry(TRANSIENT_RETRY);
  return state;
}

/** The status field of an aggregate state kept at `path` (`$.migrate` → `$.migrate.status`). */
export function statusAt(path: string): string {
  return `${path}.status`;
}

/**
 * An end of a fragment that continues from a Choice when `condition` holds: the Choice
 * has no Otherwise, so a status the flow does not know fails the run loudly.
 */
export function choiceExit(choice: sfn.Choice, condition: sfn.Condition): sfn.INextable {
  return {
    next: (state: sfn.IChainable) => {
      choice.when(condition, state);
      return sfn.Chain.custom(choice, state.endStates, state);
    },
  };
}

/** The check half of a "check until decided" loop, and how its Choice leaves. */
export interface CheckLoopProps {
  /** Name of the Choice that reads the status (`Deploy?`). */
  readonly choice: string;
  /** Name of the check state (`CheckDeploy`). */
  readonly check: string;
  /** The check handler: it takes `{ state }` from `resultPath` and long-polls. */
  readonly handler: FlowHandler;
  /** Where the aggregate state is kept; start and check both write there. */
  readonly resultPath: string;
  /** Shown in the console next to the check state. */
  readonly comment: string;
  /**
   * Where the run goes when the status is FAILED.
   * @default FAILED leaves the loop through the exit, as SUCCEEDED does
   */
  readonly onFailed?: sfn.IChainable;
  /**
   * Where the run goes on other statuses the check may decide (`READY` → `CutOver`).
   * @default none: a status the loop does not know fails the run
   */
  readonly onStatus?: Readonly<Record<string, sfn.IChainable>>;
}

/** The states of a "check until decided" loop: the check (for its Catch), its Choice and the loop's exit. */
export interface CheckLoop {
  /** The check state, called again through the Choice while the status is RUNNING. */
  readonly check: tasks.LambdaInvoke;
  /** The Choice that reads the status: a state reached through `onStatus` may come back to it. */
  readonly choice: sfn.Choice;
  /** The continuation once the status is decided (SUCCEEDED, or FAILED without `onFailed`). */
  readonly exit: sfn.INextable;
}

/**
 * Wires `start` → `<choice>` ⇄ `<check>` until the status at `resultPath` is decided:
 * RUNNING calls the check again, FAILED goes to `onFailed` when given, another status to its
 * `onStatus` state, and the decided status leaves through the returned exit. There is no Wait
 * state: each check long-polls.
 */
export function checkUntilDecided(scope: Construct, start: sfn.INextable, props: CheckLoopProps): CheckLoop {
  const status = statusAt(props.resultPath);
  const check = invoke(scope, props.check, {
    handler: props.handler,
    payload: { state: sfn.JsonPath.objectAt(props.resultPath) },
    resultPath: props.resultPath,
    comment: props.comment,
  });
  const decided = new sfn.Choice(scope, props.choice);
  start.next(decided);
  decided.when(sfn.Condition.stringEquals(status, 'RUNNING'), check);
  if (props.onFailed) decided.when(sfn.Condition.stringEquals(status, 'FAILED'), props.onFailed);
  for (const [value, next] of Object.entries(props.onStatus ?? {})) {
    decided.when(sfn.Condition.stringEquals(status, value), next);
  }
  check.next(decided);
  const succeeded = sfn.Condition.stringEquals(status, 'SUCCEEDED');
  const done = props.onFailed
    ? succeeded
    : sfn.Condition.or(succeeded, sfn.Condition.stringEquals(status, 'FAILED'));
  return { check, choice: decided, exit: choiceExit(decided, done) };
}
