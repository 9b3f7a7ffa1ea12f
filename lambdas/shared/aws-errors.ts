import { TransientError } from './errors.js';

/**
 * How an error of an AWS call is handled: `throttling` and `transient` ones say nothing about
 * the resources (the call may succeed if made again), `permanent` ones do (or are a mistake of
 * ours, such as a missing permission).
 */
export type ErrorKind = 'throttling' | 'transient' | 'permanent';

/**
 * Error names the AWS SDKs retry as throttling
 * (https://github.com/smithy-lang/smithy-typescript/blob/main/packages/service-error-classification/src/constants.ts).
 * `DeploymentLimitExceededException` (one active deployment per group) is not one of them.
 */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/**
 * Error names of a call that did not get an answer, or got a server's failure: the SDKs' transient
 * names (same source) and the services' own server errors (ECS `ServerException`, EventBridge
 * `InternalException`, the `InternalFailure` and `ServiceUnavailable` every service may answer).
 * `TransientError` is ours: a handler that already gave up on such a call.
 */
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServerException',
  'InternalException',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransientError',
]);

/** Node.js error codes of a connection that failed or was cut (same source, and ECONNABORTED). */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface ErrorFacts {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

const factsOf = (error: unknown): ErrorFacts =>
  error !== null && typeof error === 'object' ? (error as ErrorFacts) : {};

/**
 * Classifies an error of an AWS call (after the SDK's retries) as the SDK does: throttling by name,
 * by HTTP 429 or by the service's retryable trait; transient for the names above, any 5xx, a
 * network error code, or an error caused by one of those. Everything else is permanent: an
 * AccessDenied, a validation error, a resource that does not exist.
 */
export function errorKind(error: unknown, depth = 0): ErrorKind {
  const facts = factsOf(error);
  const name = typeof facts.name === 'string' ? facts.name : '';
  if (name === 'AbortError') return 'permanent';
  const status = facts.$metadata?.httpStatusCode;
  if (THROTTLING_NAMES.has(name) || status === 429 || facts.$retryable?.throttling === true)
    return 'throttling';
  if (
    TRANSIENT_NAMES.has(name) ||
    facts.$retryable !== undefined ||
    (status !== undefined && status >= 500 && status <= 599) ||
    (typeof facts.code === 'string' && NETWORK_CODES.has(facts.code))
  )
    return 'transient';
  if (facts.cause !== undefined && depth < 5) return errorKind(facts.cause, depth + 1);
  return 'permanent';
}

/** True when `error` is an AWS error (or any error) named one of `names` (`DeploymentAlreadyCompletedException`). */
export function isErrorNamed(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/** True when the call may well succeed if made again: throttling or transient. */
export function isTransient(error: unknown): boolean {
  return errorKind(error) !== 'permanent';
}

/** The AWS call an error came from and where it was made, as `inCall` records it on the error. */
export interface CallSite {
  /** The API operation (`CreateDeployment`). */
  call: string;
  /** Where: an environment, an `environment/service`, a cluster or group when nothing better is known. */
  where?: string;
}

const CALL_SITE = Symbol('stepdeploy.callSite');

type WithCallSite = { [CALL_SITE]?: CallSite };

/** Records the call site on the error (the first one recorded wins; `where` may be added later). */
function record(error: unknown, site: CallSite): void {
  if (error === null || typeof error !== 'object') return;
  const carrier = error as WithCallSite;
  const known = carrier[CALL_SITE];
  carrier[CALL_SITE] = known ? { call: known.call, where: known.where ?? site.where } : site;
}

/**
 * Runs one AWS call; an error it throws is thrown again unchanged (its name and class still tell
 * what it is) with the call and where recorded on it, for `describeFailure`.
 */
export async function inCall<T>(call: string, where: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    record(error, { call, where });
    throw error;
  }
}

/** The pages of a paginator, an error of any page recorded as one of `call` made on `where`. */
export async function* inCallPages<T>(
  call: string,
  where: string,
  pages: AsyncIterable<T>,
): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]();
  for (;;) {
    const next = await inCall(call, where, () => iterator.next());
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Runs calls made for one place (an environment, `environment/service`); an error out of them
 * names that place first, the resource its call named after it: `eu/web (app/eu-web)`.
 */
export async function inPlace<T>(where: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const carrier = error !== null && typeof error === 'object' ? (error as WithCallSite) : undefined;
    const known = carrier?.[CALL_SITE];
    if (carrier && known && !known.where?.startsWith(where)) {
      carrier[CALL_SITE] = { ...known, where: known.where ? `${where} (${known.where})` : where };
    }
    throw error;
  }
}

/** The call site recorded on an error, if any. */
export function callSiteOf(error: unknown): CallSite | undefined {
  return error !== null && typeof error === 'object' ? (error as WithCallSite)[CALL_SITE] : undefined;
}

/** `Name: message` of an error, on one line. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.name}: ${error.message}`.split('\n')[0] ?? error.name;
}

/**
 * One failed call in words: `CreateDeployment on eu/web failed (ThrottlingException: Rate exceeded)`,
 * or the error alone when no call was recorded on it.
 */
export function describeFailure(error: unknown): string {
  const site = callSiteOf(error);
  if (!site) return errorText(error);
  return `${site.call}${site.where ? ` on ${site.where}` : ''} failed (${errorText(error)})`;
}

/**
 * The error a handler throws for `error`, saying for `verb` which call failed where and `done`
 * (what the handler had already done, such as "already created: us/web d-1"). A transient one
 * becomes a `TransientError`, which the state machine retries; any other keeps its name and class
 * (an AccessDenied still reads as one), its message prefixed with the same words when the call is
 * known.
 */
export function failureOf(error: unknown, verb: string, done: string): unknown {
  if (error instanceof TransientError) return error;
  if (isTransient(error)) {
    return new TransientError(
      `${verb}: ${describeFailure(error)} after the SDK's retries; ${done}. Nothing was decided: ` +
        `${verb} is run again (it is idempotent); should it keep failing, raise the API's quota or look ` +
        "at the service's health.",
      { cause: error },
    );
  }
  const site = callSiteOf(error);
  if (site && error instanceof Error && !error.message.startsWith(`${verb}: `)) {
    error.message = `${verb}: ${site.call}${site.where ? ` on ${site.where}` : ''} failed: ${error.message}; ${done}.`;
  }
  return error;
}

/**
 * What had succeeded as a check's last look saw it, for the message of a check that fails on an
 * error (`failureOf`'s `done`): `us/web, us/worker had succeeded when last looked at`.
 */
export function succeededSoFar(names: readonly string[]): string {
  if (names.length === 0) return 'none had been seen to succeed yet';
  const listed =
    names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
  return `${listed} had succeeded when last looked at`;
}
