import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import {
  EnvironmentLog,
  executionEnvironmentStream,
  type FunctionLogDestination,
  type FunctionLogging,
  type InvocationStatus,
  withEnvironmentLog,
} from './lambda-logs.js';

/** A Lambda function of the deployed template, run in process from its handler module. */
export interface LambdaFunction {
  region: string;
  functionName: string;
  /** `arn:aws:lambda:<region>:<account>:function:<name>`. */
  arn: string;
  /** The handler verb (`stepdeploy:handler` metadata): the module is `lambdas/<verb>/handler.ts`. */
  verb: string;
  /** The function's environment variables (`STEPDEPLOY_CONFIG_PATH`...). */
  environment: Record<string, string>;
  /** The function's timeout; `getRemainingTimeInMillis()` counts down from it. */
  timeoutSeconds: number;
  /** The function's execution role (`Role`): its invocations' SDK clients sign as this role. */
  roleArn?: string;
  /** `MemorySize` in MB (128 when the template has none); the context and the REPORT line say it. */
  memorySizeMb?: number;
  /** The function's `LoggingConfig`: the format of its log lines, their levels and its log group. */
  logging?: FunctionLogging;
}

/** The credentials Lambda gives a function's runtime (`AWS_ACCESS_KEY_ID`...). */
export interface FunctionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Who invokes a function: a role (Step Functions), or a service under the function's resource-based policy. */
export type Invoker =
  | { kind: 'role'; roleArn: string; sessionName: string }
  | { kind: 'service'; servicePrincipal: string; sourceArn: string };

/** The context a handler gets, as the Node.js runtime shapes it (the part handlers use). */
export interface InvocationContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

type HandlerFn = (event: unknown, context: InvocationContext) => unknown;

/**
 * One execution environment of a function: its own instance of the handler module (with
 * its module-scope clients) and its own log stream. Lambda runs one invocation at a time in
 * an environment and starts another for an invocation that arrives while all are busy
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
 */
interface ExecutionEnvironment {
  handler: Promise<HandlerFn>;
  log: EnvironmentLog;
  /** The variables Lambda sets per environment (its log stream...), over the function's. */
  variables: Record<string, string>;
  busy: boolean;
  /** Real milliseconds its init (the handler module's import) took; reported by its first invocation only. */
  initDurationMs?: number;
}

/**
 * An invocation that failed, named and described as Lambda reports it to Step Functions:
 * `name` is the error type the Catch and Retry clauses match, `message` the cause (JSON of
 * `errorType`, `errorMessage`, `trace`, as the Node.js runtime writes it).
 */
export class LambdaInvocationError extends Error {
  constructor(errorType: string, cause: string) {
    super(cause);
    this.name = errorType;
  }

  /**
   * Whether a Catch may take the error (aws-local-stepfunctions reads it): States.DataLimitExceeded
   * and States.Runtime are terminal, States.ALL does not match them
   * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
   */
  get isCatchable(): boolean {
    return !TERMINAL_ERRORS.has(this.name);
  }

  /** Whether a Retry may take the error: not a terminal one. */
  get isRetryable(): boolean {
    return !TERMINAL_ERRORS.has(this.name);
  }
}

const TERMINAL_ERRORS: ReadonlySet<string> = new Set(['States.DataLimitExceeded', 'States.Runtime']);

/** One attempt of an asynchronous invocation. */
export type AsyncAttempt = { outcome: 'succeeded' } | { outcome: 'failed'; error: string; cause: string };

/** An event Lambda took for asynchronous invocation (from an EventBridge rule), and how each attempt went. */
export interface AsyncInvocation {
  functionName: string;
  verb: string;
  event: unknown;
  attempts: AsyncAttempt[];
  /** `succeeded`, `failed` once its retries are spent (the event is then dropped), or `pending` (also when the local AWS stopped first). */
  status: 'pending' | 'succeeded' | 'failed';
}

/**
 * Lambda's retries of an asynchronous invocation whose function failed (its code, or its
 * runtime, such as a timeout): two more attempts, one minute after the first and two
 * minutes after the second.
 */
export const ASYNC_FUNCTION_ERROR_DELAYS_MS = [60_000, 120_000];

/** Lambda's retries of an asynchronous invocation it could not run (throttling, service errors): from 1 s doubling to 5 min, for 6 hours. */
export const ASYNC_SERVICE_ERROR_RETRY = { firstMs: 1_000, maxMs: 300_000, forMs: 6 * 3600_000 };

/** The cause Lambda reports for an error thrown by a Node.js handler. */
export function lambdaErrorCause(error: unknown): { errorType: string; cause: string } {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return { errorType, cause: JSON.stringify({ errorType, errorMessage, trace }) };
}

/**
 * Real time a local invocation gets at least before its timeout stops it (or its whole Timeout
 * when shorter): at a time scale of 100, a 2-minute Timeout would leave 1.2 s for SDK calls
 * that take real time.
 */
export const REAL_TIME_FLOOR_MS = 30_000;

/** The error type Lambda reports for an invocation its function's timeout stopped. */
export const TIMEOUT_ERROR = 'Sandbox.Timedout';

let instances = 0;

/** The environment of the invocation running in this async context, over the process's own. */
const invocationEnvironment = new AsyncLocalStorage<Record<string, string | undefined>>();
let environmentOverlaid = false;

/**
 * Gives every invocation its own environment variables, as each Lambda execution
 * environment has: `process.env` reads the running invocation's variables first, so the
 * SDK's default credential chain finds that function's credentials even while other
 * functions run in this process at the same time.
 */
function overlayProcessEnvironment(): void {
  if (environmentOverlaid) return;
  environmentOverlaid = true;
  const own = (key: string | symbol) => {
    const overlay = invocationEnvironment.getStore();
    return typeof key === 'string' && overlay && Object.hasOwn(overlay, key) ? overlay : undefined;
  };
  process.env = new Proxy(process.env, {
    get: (target, key) => {
      const overlay = own(key);
      return overlay ? overlay[key as string] : Reflect.get(target, key);
    },
    set: (target, key, value) => {
      const overlay = own(key);
      if (overlay) overlay[key as string] = String(value);
      else Reflect.set(target, key, String(value));
      return true;
    },
    has: (target, key) => {
      const overlay = own(key);
      return overlay ? overlay[key as string] !== undefined : Reflect.has(target, key);
    },
    deleteProperty: (target, key) => {
      const overlay = own(key);
      if (overlay) overlay[key as string] = undefined;
      else Reflect.deleteProperty(target, key);
      return true;
    },
    ownKeys: (target) => {
      const overlay = invocationEnvironment.getStore() ?? {};
      const keys = new Set(Reflect.ownKeys(target));
      for (const [key, value] of Object.entries(overlay)) {
        if (value === undefined) keys.delete(key);
        else keys.add(key);
      }
      return [...keys];
    },
    getOwnPropertyDescriptor: (target, key) => {
      const overlay = own(key);
      if (!overlay) return Reflect.getOwnPropertyDescriptor(target, key);
      const value = overlay[key as string];
      return value === undefined
        ? undefined
        : { value, writable: true, enumerable: true, configurable: true };
    },
  });
}

/**
 * The Lambda functions of the local AWS: each invocation runs in an execution environment of
 * its function, which imports `lambdas/<verb>/handler.ts` in this process (one module
 * instance per environment; a new environment for an invocation that arrives while the
 * others are busy) with the SDK pointed at the local endpoint and the credentials of the
 * function's role in its environment, and calls its `handler`. What the invocation writes,
 * and Lambda's own START, END and REPORT lines, go to the environment's log stream in the
 * function's log group.
 */
export class LambdaFunctions {
  private readonly functions = new Map<string, LambdaFunction>();
  private readonly asyncLog: AsyncInvocation[] = [];
  /** Cancels the waits of asynchronous invocations before their next attempt. */
  private readonly retryWaits = new Set<() => void>();
  private stopped = false;
  /** The execution environments of each function, by function ARN. */
  private readonly environments = new Map<string, ExecutionEnvironment[]>();
  private environmentCount = 0;
  /** Handler modules hold SDK clients made at import, bound to the endpoint of that moment. */
  private readonly instance = ++instances;

  constructor(
    private readonly deps: {
      repoRoot: string;
      endpoint: () => string;
      clock: LocalClock;
      faults: Faults;
      /** The credentials of a function's role; absent: the local administrator's. */
      credentials?: (fn: LambdaFunction) => FunctionCredentials | undefined;
      /** Authorizes lambda:InvokeFunction; rejects with the error the invoker sees. */
      authorizeInvoke?: (invoker: Invoker, fn: LambdaFunction, qualifiedArn: string) => Promise<void>;
      /** Where the functions' log lines go (CloudWatch Logs); absent: they are dropped. */
      logs?: FunctionLogDestination;
    },
  ) {}

  /** Registers a function (a deployed `AWS::Lambda::Function`). */
  register(fn: LambdaFunction): void {
    this.functions.set(fn.arn, fn);
  }

  /** The function a Task's `Resource` or an `Invoke`'s `FunctionName` names (ARN, qualified ARN or name). */
  find(reference: string): LambdaFunction | undefined {
    const unqualified = reference.replace(/^(arn:aws:lambda:[^:]+:[^:]+:function:[^:]+):.*$/, '$1');
    const byArn = this.functions.get(unqualified);
    if (byArn) return byArn;
    return [...this.functions.values()].find((fn) => fn.functionName === reference);
  }

  /** Every registered function. */
  list(): LambdaFunction[] {
    return [...this.functions.values()];
  }

  /**
   * Invokes `fn` with `event` and resolves with its result, round-tripped through JSON as
   * Lambda does. Failures reject with a `LambdaInvocationError` named like Lambda's error type.
   * `onStarted` is called once the function runs (not when Lambda itself failed to run it).
   * With an `invoker`, Lambda first authorizes lambda:InvokeFunction on `qualifiedArn`.
   *
   * The function's Timeout (scaled, like every wait) stops the invocation: it fails with
   * `Sandbox.Timedout`, as Lambda reports a timeout of the Node.js 22 runtime, and
   * `getRemainingTimeInMillis()` counts down to it on the same scaled clock as the handler's
   * sleeps. The SDK calls and processes a handler starts take real time, which the scale does
   * not shrink: the invocation is stopped no earlier than `REAL_TIME_FLOOR_MS` of real time
   * (its whole Timeout when shorter), by which its context has long read 0. The handler cannot
   * be frozen in process: what it still does after its timeout reaches the local AWS, but its
   * result is dropped.
   */
  async invoke(
    fn: LambdaFunction,
    event: unknown,
    onStarted: () => void = () => {},
    invoker?: { invoker: Invoker; qualifiedArn?: string },
  ): Promise<unknown> {
    if (invoker && this.deps.authorizeInvoke) {
      await this.deps.authorizeInvoke(invoker.invoker, fn, invoker.qualifiedArn ?? fn.arn);
    }
    if (this.deps.faults.take('lambda-failure', (fault) => fault.verb === fn.verb)) {
      throw new LambdaInvocationError(
        'Lambda.ServiceException',
        JSON.stringify({
          errorType: 'ServiceException',
          errorMessage: `Lambda was unable to run ${fn.functionName} (fault lambda-failure injected for ${fn.verb}).`,
        }),
      );
    }
    const environment = this.environmentOf(fn);
    const executionEnvironment = this.acquire(fn, environment);
    const { log } = executionEnvironment;
    let handler: HandlerFn;
    try {
      handler = await executionEnvironment.handler;
    } catch (error) {
      this.discard(fn, executionEnvironment);
      const { cause } = lambdaErrorCause(error);
      throw new LambdaInvocationError('Runtime.ImportModuleError', cause);
    }
    const { clock } = this.deps;
    const startedMs = clock.nowMs();
    const realStartMs = performance.now();
    const timeoutMs = fn.timeoutSeconds * 1000;
    const awsRequestId = randomUUID();
    const memorySizeMb = fn.memorySizeMb ?? 128;
    const context: InvocationContext = {
      functionName: fn.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(memorySizeMb),
      awsRequestId,
      logGroupName: log.group,
      logStreamName: log.stream,
      callbackWaitsForEmptyEventLoop: true,
      // The time left shrinks at the time scale, as the scaled waits of the handler see it.
      getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (clock.nowMs() - startedMs) * clock.timeScale),
    };
    const timedOut = () =>
      new LambdaInvocationError(
        TIMEOUT_ERROR,
        JSON.stringify({
          errorType: TIMEOUT_ERROR,
          errorMessage: `RequestId: ${awsRequestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        }),
      );
    onStarted();
    log.start(awsRequestId);
    const ended = (outcome: InvocationStatus) => {
      log.end(awsRequestId, outcome, {
        durationMs: performance.now() - realStartMs,
        memorySizeMb,
        // Every function shares this process: its heap in use, within the function's memory, stands in.
        maxMemoryUsedMb: Math.min(memorySizeMb, Math.round(process.memoryUsage().heapUsed / 1_048_576)),
        initDurationMs: executionEnvironment.initDurationMs,
      });
      executionEnvironment.initDurationMs = undefined;
    };
    let cancelTimeout = () => {};
    const timeout = new Promise<never>((_resolve, reject) => {
      const realTimeoutMs = Math.max(clock.scaledMs(timeoutMs), Math.min(timeoutMs, REAL_TIME_FLOOR_MS));
      const timer = setTimeout(() => reject(timedOut()), realTimeoutMs);
      cancelTimeout = () => clearTimeout(timer);
    });
    let thrown: unknown;
    const running = (async () => {
      try {
        return await invocationEnvironment.run({ ...environment, ...executionEnvironment.variables }, () =>
          withEnvironmentLog(log, () => handler(structuredClone(event), context)),
        );
      } catch (error) {
        thrown = error;
        const { errorType, cause } = lambdaErrorCause(error);
        throw new LambdaInvocationError(errorType, cause);
      }
    })();
    // A handler that fails after its timeout fails no one: the invocation already ended.
    running.catch(() => {});
    try {
      const result = await Promise.race([running, timeout]);
      if (this.deps.faults.take('lambda-timeout', (fault) => fault.verb === fn.verb)) throw timedOut();
      ended({ status: 'success' });
      executionEnvironment.busy = false;
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      if (error instanceof LambdaInvocationError && error.name === TIMEOUT_ERROR) {
        ended({ status: 'timeout', timeoutSeconds: fn.timeoutSeconds });
        // Lambda resets an environment whose invocation timed out; this one's handler may still run.
        log.close();
        this.discard(fn, executionEnvironment);
      } else {
        ended({
          status: 'error',
          error: thrown ?? error,
          errorType: error instanceof Error ? error.name : 'Error',
        });
        executionEnvironment.busy = false;
      }
      throw error;
    } finally {
      cancelTimeout();
    }
  }

  /**
   * Invokes `fn` asynchronously (InvocationType Event), as an EventBridge rule invokes its
   * Lambda target: a function error is retried twice (after one, then two minutes, scaled);
   * an error of Lambda itself is retried from 1 s, doubling to 5 minutes, for up to 6 hours.
   * Resolves once Lambda is done with the event (succeeded, or dropped after its retries);
   * it never rejects. `asyncInvocations()` lists every attempt. With an `invoker`, the Invoke
   * call is authorized first, as `invoke` does: a denied one is refused, and nothing is queued.
   */
  async invokeAsync(
    fn: LambdaFunction,
    event: unknown,
    invoker?: { invoker: Invoker; qualifiedArn?: string },
  ): Promise<AsyncInvocation> {
    const invocation: AsyncInvocation = {
      functionName: fn.functionName,
      verb: fn.verb,
      event,
      attempts: [],
      status: 'pending',
    };
    this.asyncLog.push(invocation);
    if (invoker && this.deps.authorizeInvoke) {
      // A caller that may not invoke is refused at the Invoke call: Lambda never queues the event.
      try {
        await this.deps.authorizeInvoke(invoker.invoker, fn, invoker.qualifiedArn ?? fn.arn);
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        invocation.attempts.push({ outcome: 'failed', error: failure.name, cause: failure.message });
        invocation.status = 'failed';
        return invocation;
      }
    }
    const functionDelays = [...ASYNC_FUNCTION_ERROR_DELAYS_MS];
    const retry = ASYNC_SERVICE_ERROR_RETRY;
    let serviceDelayMs = retry.firstMs;
    let serviceWaitedMs = 0;
    for (;;) {
      if (this.stopped) return invocation;
      try {
        await this.invoke(fn, event);
        invocation.attempts.push({ outcome: 'succeeded' });
        invocation.status = 'succeeded';
        return invocation;
      } catch (error) {
        const failure =
          error instanceof LambdaInvocationError
            ? error
            : new LambdaInvocationError('Lambda.Unknown', String(error));
        invocation.attempts.push({ outcome: 'failed', error: failure.name, cause: failure.message });
        let delayMs: number | undefined;
        // Lambda's own errors (throttling, service errors) go back to the queue; the rest are the function's.
        if (failure.name.startsWith('Lambda.') && failure.name !== 'Lambda.Unknown') {
          delayMs = serviceWaitedMs + serviceDelayMs <= retry.forMs ? serviceDelayMs : undefined;
          serviceWaitedMs += serviceDelayMs;
          serviceDelayMs = Math.min(serviceDelayMs * 2, retry.maxMs);
        } else {
          delayMs = functionDelays.shift();
        }
        if (delayMs === undefined) {
          invocation.status = 'failed';
          process.stderr.write(
            `local AWS: asynchronous invocation of ${fn.functionName} failed ${invocation.attempts.length} times; the event is dropped: ${failure.name}: ${failure.message}\n`,
          );
          return invocation;
        }
        if (!(await this.waitForRetry(delayMs))) return invocation;
      }
    }
  }

  /** Waits `ms` (scaled) before the next attempt; false when the local AWS stopped meanwhile. */
  private waitForRetry(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.deps.clock.after(ms, () => {
        this.retryWaits.delete(stop);
        resolve(true);
      });
      const stop = () => {
        cancel();
        resolve(false);
      };
      this.retryWaits.add(stop);
    });
  }

  /** The local AWS is stopping: asynchronous invocations make no further attempt. */
  shutdown(): void {
    this.stopped = true;
    for (const stop of this.retryWaits) stop();
    this.retryWaits.clear();
  }

  /** Every asynchronous invocation so far, oldest first, with its attempts. */
  asyncInvocations(): readonly AsyncInvocation[] {
    return this.asyncLog;
  }

  /**
   * What the Lambda runtime gives a function (its Region, name and role credentials), what
   * points the SDK at this local AWS, and the function's own variables.
   */
  private environmentOf(fn: LambdaFunction): Record<string, string | undefined> {
    const credentials = this.deps.credentials?.(fn) ?? { accessKeyId: 'local', secretAccessKey: 'local' };
    return {
      AWS_ENDPOINT_URL: this.deps.endpoint(),
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
      AWS_REGION: fn.region,
      AWS_DEFAULT_REGION: fn.region,
      AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
      STEPDEPLOY_TIME_SCALE: String(this.deps.clock.timeScale),
      ...fn.environment,
    };
  }

  /**
   * A free execution environment of `fn`, or a new one: its own import of the handler module
   * (timed as its init) and its own log stream, named on the day it starts.
   */
  private acquire(fn: LambdaFunction, environment: Record<string, string | undefined>): ExecutionEnvironment {
    const pool = this.environments.get(fn.arn) ?? [];
    this.environments.set(fn.arn, pool);
    const free = pool.find((candidate) => !candidate.busy);
    if (free) {
      free.busy = true;
      return free;
    }
    const stream = executionEnvironmentStream(fn.functionName, fn.logging, this.deps.clock.nowMs());
    const log = new EnvironmentLog(
      this.deps.logs ?? { write: () => {} },
      fn.region,
      fn.functionName,
      stream,
      fn.logging,
    );
    // What Lambda sets in each environment (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
    const variables = {
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySizeMb ?? 128),
      AWS_LAMBDA_LOG_GROUP_NAME: log.group,
      AWS_LAMBDA_LOG_STREAM_NAME: stream,
      ...log.variables(),
    };
    const path = join(this.deps.repoRoot, 'lambdas', fn.verb, 'handler.ts');
    const initStartMs = performance.now();
    const handler = invocationEnvironment
      .run({ ...environment, ...variables }, () =>
        withEnvironmentLog(log, () => this.importHandler(fn, path, ++this.environmentCount)),
      )
      .then((loaded) => {
        created.initDurationMs = performance.now() - initStartMs;
        return loaded;
      });
    const created: ExecutionEnvironment = { handler, log, variables, busy: true };
    created.handler.catch(() => {});
    pool.push(created);
    return created;
  }

  /** Drops an execution environment: it failed its init or timed out. */
  private discard(fn: LambdaFunction, environment: ExecutionEnvironment): void {
    const pool = this.environments.get(fn.arn) ?? [];
    this.environments.set(
      fn.arn,
      pool.filter((candidate) => candidate !== environment),
    );
  }

  private async importHandler(fn: LambdaFunction, path: string, environment: number): Promise<HandlerFn> {
    if (!existsSync(path)) {
      throw new Error(
        `Cannot find the handler module of ${fn.functionName}: ${path} does not exist (stepdeploy:handler metadata "${fn.verb}").`,
      );
    }
    overlayProcessEnvironment();
    const url = `${pathToFileURL(path).href}?local=${this.instance}&function=${encodeURIComponent(fn.functionName)}&environment=${environment}`;
    const module = (await import(url)) as { handler?: unknown };
    if (typeof module.handler !== 'function') {
      throw new Error(`${path} does not export a function named handler.`);
    }
    return module.handler as HandlerFn;
  }
}
