import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';

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
 * An invocation that failed, named and described as Lambda reports it to Step Functions:
 * `name` is the error type the Catch and Retry clauses match, `message` the cause (JSON of
 * `errorType`, `errorMessage`, `trace`, as the Node.js runtime writes it).
 */
export class LambdaInvocationError extends Error {
  constructor(errorType: string, cause: string) {
    super(cause);
    this.name = errorType;
  }
}

/** The cause Lambda reports for an error thrown by a Node.js handler. */
export function lambdaErrorCause(error: unknown): { errorType: string; cause: string } {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return { errorType, cause: JSON.stringify({ errorType, errorMessage, trace }) };
}

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
 * The Lambda functions of the local AWS: each invocation imports `lambdas/<verb>/handler.ts`
 * in this process (once per function and local AWS instance, as each function has its own
 * execution environment) with the SDK pointed at the local endpoint and the credentials of
 * the function's role in its environment, and calls its `handler`.
 */
export class LambdaFunctions {
  private readonly functions = new Map<string, LambdaFunction>();
  private readonly modules = new Map<string, Promise<HandlerFn>>();
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
    let handler: HandlerFn;
    try {
      handler = await this.load(fn, environment);
    } catch (error) {
      const { cause } = lambdaErrorCause(error);
      throw new LambdaInvocationError('Runtime.ImportModuleError', cause);
    }
    const startedMs = this.deps.clock.nowMs();
    const timeoutMs = fn.timeoutSeconds * 1000;
    const context: InvocationContext = {
      functionName: fn.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: '128',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.functionName}`,
      logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
      callbackWaitsForEmptyEventLoop: true,
      // The time left shrinks at the time scale, as the scaled waits of the handler see it.
      getRemainingTimeInMillis: () =>
        Math.max(0, timeoutMs - (this.deps.clock.nowMs() - startedMs) * this.deps.clock.timeScale),
    };
    onStarted();
    try {
      const result = await invocationEnvironment.run({ ...environment }, () =>
        handler(structuredClone(event), context),
      );
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const { errorType, cause } = lambdaErrorCause(error);
      throw new LambdaInvocationError(errorType, cause);
    }
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

  /** The handler module of `fn`: one module instance (with its module-scope clients) per function. */
  private load(fn: LambdaFunction, environment: Record<string, string | undefined>): Promise<HandlerFn> {
    let loading = this.modules.get(fn.arn);
    if (!loading) {
      const path = join(this.deps.repoRoot, 'lambdas', fn.verb, 'handler.ts');
      loading = invocationEnvironment.run({ ...environment }, () => this.importHandler(fn, path));
      this.modules.set(fn.arn, loading);
      loading.catch(() => this.modules.delete(fn.arn));
    }
    return loading;
  }

  private async importHandler(fn: LambdaFunction, path: string): Promise<HandlerFn> {
    if (!existsSync(path)) {
      throw new Error(
        `Cannot find the handler module of ${fn.functionName}: ${path} does not exist (stepdeploy:handler metadata "${fn.verb}").`,
      );
    }
    overlayProcessEnvironment();
    const url = `${pathToFileURL(path).href}?local=${this.instance}&function=${encodeURIComponent(fn.functionName)}`;
    const module = (await import(url)) as { handler?: unknown };
    if (typeof module.handler !== 'function') {
      throw new Error(`${path} does not export a function named handler.`);
    }
    return module.handler as HandlerFn;
  }
}
