import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { LambdaContext } from './lambda-context.js';

/** The fields of one log line besides its message: what the line is about and why. */
export type LogFields = Record<string, unknown>;

/**
 * What a handler logs through during one invocation. Every line is one JSON object on
 * stdout with `timestamp`, `level`, `requestId` and `message` (the fields Lambda's own JSON
 * log format has), then `verb`, `release` and `execution` when the event names them, then
 * the line's own fields.
 */
export interface InvocationLog {
  /** One decision the handler made: what, about which environment or service, and why. */
  info(message: string, fields?: LogFields): void;
  /** A decision about something that failed or was refused: a task that exited non-zero, a failed deployment. */
  warn(message: string, fields?: LogFields): void;
  /** Detail for debugging; written only when the function's log level is DEBUG or TRACE. */
  debug(message: string, fields?: LogFields): void;
  /** Adds fields to every later line of this invocation (the phase, once the event is parsed). */
  append(fields: LogFields): void;
  /**
   * The invocation's own line: what the handler concluded, once per invocation. Handlers
   * call it last; one that returns without it gets a line `"<verb> done"`. `warn` when the
   * conclusion is a failure (a phase or a deployment failed).
   */
  done(message: string, fields?: LogFields, level?: 'info' | 'warn'): void;
}

/** A handler as Lambda calls it. */
export type LambdaHandler<R> = (event: unknown, context?: LambdaContext) => Promise<R>;

/**
 * Powertools reserves `service` for its own service name (it drops the key from a line's
 * fields), which these lines do not carry; an ECS service travels under this key and is
 * written as `service`.
 */
const SERVICE_KEY = 'ecsService';

/** A line's fields with `service` moved to {@link SERVICE_KEY}. */
function carried(fields: LogFields): LogFields {
  if (!('service' in fields)) return fields;
  const { service, ...rest } = fields;
  return { ...rest, [SERVICE_KEY]: service };
}

/**
 * Lambda's JSON log fields first (`timestamp`, `level`, `requestId`, `message`), so a
 * handler's lines read and query like the runtime's own; then the invocation's and the
 * line's fields. Powertools' default names (`function_request_id`...) would split one
 * invocation's lines across two field names in CloudWatch Logs Insights.
 */
class LambdaJsonFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const { requestId, [SERVICE_KEY]: service, ...fields } = additional;
    return new LogItem({
      attributes: {
        timestamp: this.formatTimestamp(attributes.timestamp),
        level: attributes.logLevel,
        requestId,
        message: attributes.message,
        xrayTraceId: attributes.xRayTraceId,
      },
    }).addAttributes(service === undefined ? fields : { ...fields, service });
  }
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;

const asString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The release and the Step Functions execution an event belongs to, wherever its shape
 * carries them: the flow passes `executionArn` to every handler, the cleanup rule's event
 * has it in `detail`; the release is in the execution input (Plan), the plan, or the state.
 */
export function runOf(event: unknown): { release?: string; execution?: string } {
  const root = asRecord(event);
  const state = asRecord(root?.state);
  const release =
    asString(asRecord(root?.input)?.release) ??
    asString(asRecord(root?.plan)?.release) ??
    asString(state?.release) ??
    asString(asRecord(state?.plan)?.release);
  const execution = asString(root?.executionArn) ?? asString(asRecord(root?.detail)?.executionArn);
  return { release, execution };
}

/** The readable name of an error, also for the `cause` chain. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Wraps a handler so that every invocation logs as an operator needs it in CloudWatch Logs:
 * each decision the handler logs through `log`, one line with its conclusion (`log.done`),
 * and an error once, with its name and cause, before it propagates to Lambda (and to the
 * state machine's Catch). Every line carries the verb, the request id, and the release and
 * execution the event names.
 *
 * ```ts
 * export const handler = loggedHandler('bake', async (event, log, context) => {
 *   const result = await bake(parseBakeEvent(event), deps);
 *   for (const alarm of result.alarms) log.info(`alarm ${alarm.name} is ${alarm.state}`, { environment: alarm.environment });
 *   log.done(`wave ${result.wave}: ${result.status}`, { status: result.status }, result.status === 'FAILED' ? 'warn' : 'info');
 *   return result;
 * });
 * ```
 *
 * The level is the function's (`AWS_LAMBDA_LOG_LEVEL`, which Lambda sets from the construct's
 * `logLevel`), else `POWERTOOLS_LOG_LEVEL`, else INFO. A logger is made per invocation, so
 * concurrent invocations in one process never share their fields.
 */
export function loggedHandler<R>(
  verb: string,
  run: (event: unknown, log: InvocationLog, context?: LambdaContext) => Promise<R>,
): LambdaHandler<R> {
  return async (event, context) => {
    const logger = new Logger({
      logFormatter: new LambdaJsonFormatter(),
      persistentKeys: { requestId: context?.awsRequestId, verb, ...runOf(event) },
    });
    let concluded = false;
    const log: InvocationLog = {
      info: (message, fields = {}) => logger.info(message, carried(fields)),
      warn: (message, fields = {}) => logger.warn(message, carried(fields)),
      debug: (message, fields = {}) => logger.debug(message, carried(fields)),
      append: (fields) => logger.appendPersistentKeys(carried(fields)),
      done: (message, fields = {}, level = 'info') => {
        concluded = true;
        logger[level](message, carried(fields));
      },
    };
    try {
      const result = await run(event, log, context);
      if (!concluded) log.done(`${verb} done`);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error(`${verb} failed: ${errorName(error)}: ${message}`, { error });
      throw error;
    }
  };
}
