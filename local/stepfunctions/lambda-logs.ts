import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';

/**
 * How Lambda logs a function (its `LoggingConfig`): the format of its lines, the levels it
 * lets through, and the log group it writes to.
 */
export interface FunctionLogging {
  /** `Text` (the default) or `JSON`. */
  format: 'Text' | 'JSON';
  /** JSON format only: the least severe application line Lambda keeps (TRACE to FATAL); INFO by default. */
  applicationLogLevel?: string;
  /** JSON format only: the least severe system line Lambda keeps (DEBUG, INFO, WARN); INFO by default. */
  systemLogLevel?: string;
  /** The function's log group; absent: `/aws/lambda/<function name>`. */
  logGroup?: string;
}

/** Where Lambda sends a function's lines: CloudWatch Logs, the group created when missing. */
export interface FunctionLogDestination {
  write(
    region: string,
    group: string,
    stream: string,
    events: Array<{ timestamp: number; message: string }>,
  ): void;
}

const APPLICATION_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const SYSTEM_LEVELS = ['DEBUG', 'INFO', 'WARN'];

/** The function's log group: its configured one, else Lambda's default `/aws/lambda/<name>`. */
export function functionLogGroup(functionName: string, logging?: FunctionLogging): string {
  return logging?.logGroup ?? `/aws/lambda/${functionName}`;
}

/**
 * The log stream of a new execution environment: `YYYY/MM/DD/[$LATEST]<32 hex>` in the
 * default group; in a custom group Lambda puts the function's name before the version, so
 * that functions sharing a group keep their streams apart
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
 */
export function executionEnvironmentStream(
  functionName: string,
  logging: FunctionLogging | undefined,
  createdMs: number,
): string {
  const day = new Date(createdMs).toISOString().slice(0, 10).replaceAll('-', '/');
  const owner = logging?.logGroup === undefined ? '' : functionName;
  return `${day}/${owner}[$LATEST]${randomUUID().replaceAll('-', '')}`;
}

/** The runtime's console levels (aws-lambda-nodejs-runtime-interface-client, src/LogPatch.js). */
type ConsoleLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

/** An error as the Node.js runtime's JSON console writes it: `errorType`, `errorMessage`, `stackTrace`. */
function jsonErrorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return {
      errorType: value.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      ...value,
    };
  }
  return value;
}

/**
 * One line of the Node.js runtime's console, as its LogPatch writes it: in the text format
 * `time<TAB>requestId<TAB>LEVEL<TAB>message`, in the JSON format an object with `timestamp`,
 * `level`, `requestId` and `message` (an error's `errorType`, `errorMessage`, `stackTrace`
 * beside it). Newlines become carriage returns, so one call is one line.
 */
export function runtimeConsoleLine(
  jsonFormat: boolean,
  requestId: string | undefined,
  level: ConsoleLevel,
  params: unknown[],
  nowMs = Date.now(),
): string {
  const timestamp = new Date(nowMs).toISOString();
  let line: string;
  if (!jsonFormat) {
    line = `${timestamp}\t${requestId}\t${level}\t${format(...params)}`;
  } else {
    const result: Record<string, unknown> = { timestamp, level, requestId };
    if (params.length === 1) {
      result.message = params[0];
      try {
        line = JSON.stringify(result, jsonErrorReplacer);
      } catch {
        line = JSON.stringify({ ...result, message: format(params[0]) });
      }
    } else {
      result.message = format(...params);
      const error = params.find((param) => param instanceof Error);
      if (error instanceof Error) {
        result.errorType = error.constructor?.name ?? 'UnknownError';
        result.errorMessage = error.message;
        result.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
      }
      line = JSON.stringify(result);
    }
  }
  return line.replace(/\n/g, '\r');
}

/** An error with its enumerable fields, as the runtime's text format prints an invocation's error. */
function formattedError(error: unknown): string {
  if (!(error instanceof Error)) return `\t${JSON.stringify(error)}`;
  return `\t${JSON.stringify({
    errorType: error.name,
    errorMessage: error.message,
    ...error,
    stack: typeof error.stack === 'string' ? error.stack.split('\n') : undefined,
  })}`;
}

/** How an invocation ended, for its REPORT line. */
export type InvocationStatus =
  | { status: 'success' }
  | { status: 'error'; error: unknown; errorType: string }
  | { status: 'timeout'; timeoutSeconds: number };

/** What the REPORT line (or `platform.report` record) says about an invocation. */
export interface InvocationReport {
  durationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** The first invocation of an execution environment: how long its init took. */
  initDurationMs?: number;
}

/**
 * The lines of one execution environment of a function, delivered to its log stream as
 * Lambda delivers them: the function's own output line by line (in the JSON format filtered
 * by the application log level, a line without a `level` counting as INFO), the runtime's
 * console lines, and Lambda's START, END and REPORT lines, or in the JSON format its
 * `platform.start` and `platform.report` records at the system log level
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
export class EnvironmentLog {
  readonly group: string;
  private readonly json: boolean;
  private readonly applicationLevel: number;
  private readonly systemLevel: number;
  private readonly pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  /** The request id of the invocation running; undefined during init. */
  requestId: string | undefined;
  private closed = false;

  constructor(
    private readonly destination: FunctionLogDestination,
    private readonly region: string,
    functionName: string,
    readonly stream: string,
    logging: FunctionLogging | undefined,
  ) {
    this.group = functionLogGroup(functionName, logging);
    this.json = logging?.format === 'JSON';
    this.applicationLevel = APPLICATION_LEVELS.indexOf(
      (logging?.applicationLogLevel ?? 'INFO').toUpperCase(),
    );
    this.systemLevel = SYSTEM_LEVELS.indexOf((logging?.systemLogLevel ?? 'INFO').toUpperCase());
  }

  /** `AWS_LAMBDA_LOG_FORMAT` and, in the JSON format, `AWS_LAMBDA_LOG_LEVEL`: what the runtime and loggers read. */
  variables(): Record<string, string> {
    return this.json
      ? {
          AWS_LAMBDA_LOG_FORMAT: 'JSON',
          AWS_LAMBDA_LOG_LEVEL: APPLICATION_LEVELS[this.applicationLevel] ?? 'INFO',
        }
      : { AWS_LAMBDA_LOG_FORMAT: 'TEXT' };
  }

  /** Output the function wrote to stdout or stderr: each complete line is one event. */
  output(channel: 'stdout' | 'stderr', text: string): void {
    const lines = (this.pending[channel] + text).split('\n');
    this.pending[channel] = lines.pop() ?? '';
    this.application(lines);
  }

  /** A call of the runtime's console (`console.log`...), at the runtime's own level filter. */
  console(level: ConsoleLevel, params: unknown[]): void {
    const threshold = this.json ? this.applicationLevel : 0;
    if (APPLICATION_LEVELS.indexOf(level) < threshold) return;
    this.deliver([runtimeConsoleLine(this.json, this.requestId, level, params)]);
  }

  /** `START`, or `platform.start` in the JSON format. */
  start(requestId: string): void {
    this.requestId = requestId;
    if (this.json) this.system('INFO', 'platform.start', { requestId, version: '$LATEST' });
    else this.deliver([`START RequestId: ${requestId} Version: $LATEST`]);
  }

  /** The invocation's end: the runtime's error line if it failed, then `END` and `REPORT` (or `platform.report`). */
  end(requestId: string, outcome: InvocationStatus, report: InvocationReport): void {
    this.flush();
    if (outcome.status === 'error') {
      // The runtime logs the error the handler threw (structuredConsole.logError("Invoke Error", ...)).
      if (this.json) this.console('ERROR', [outcome.error]);
      else this.console('ERROR', [`Invoke Error ${formattedError(outcome.error)}`]);
    }
    if (outcome.status === 'timeout' && !this.json) {
      this.deliver([
        `${new Date().toISOString()} ${requestId} Task timed out after ${outcome.timeoutSeconds.toFixed(2)} seconds`,
      ]);
    }
    const billedMs = Math.ceil(report.durationMs);
    if (!this.json) {
      const fields = [
        `REPORT RequestId: ${requestId}`,
        `Duration: ${report.durationMs.toFixed(2)} ms`,
        `Billed Duration: ${billedMs} ms`,
        `Memory Size: ${report.memorySizeMb} MB`,
        `Max Memory Used: ${report.maxMemoryUsedMb} MB`,
      ];
      if (report.initDurationMs !== undefined)
        fields.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
      this.deliver([`END RequestId: ${requestId}`, `${fields.join('\t')}\t`]);
    } else {
      this.system('INFO', 'platform.report', {
        requestId,
        metrics: {
          durationMs: Number(report.durationMs.toFixed(3)),
          billedDurationMs: billedMs,
          memorySizeMB: report.memorySizeMb,
          maxMemoryUsedMB: report.maxMemoryUsedMb,
          ...(report.initDurationMs === undefined
            ? {}
            : { initDurationMs: Number(report.initDurationMs.toFixed(3)) }),
        },
        status: outcome.status,
        ...(outcome.status === 'error' ? { errorType: outcome.errorType } : {}),
        ...(outcome.status === 'timeout' ? { errorType: 'Sandbox.Timedout' } : {}),
      });
    }
    this.requestId = undefined;
  }

  /** Writes what is left of a line without its newline. */
  flush(): void {
    for (const channel of ['stdout', 'stderr'] as const) {
      if (this.pending[channel] === '') continue;
      const rest = this.pending[channel];
      this.pending[channel] = '';
      this.application([rest]);
    }
  }

  private application(lines: string[]): void {
    const kept = lines.filter((line) => line !== '' && this.keeps(line));
    if (kept.length > 0) this.deliver(kept);
  }

  /**
   * Lambda filters application lines only in the JSON format: by a JSON line's `level`, a
   * line without a valid one counting as INFO.
   */
  private keeps(line: string): boolean {
    if (!this.json) return true;
    let level = 'INFO';
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && 'level' in parsed && typeof parsed.level === 'string') {
        const named = parsed.level.toUpperCase();
        // Powertools names its most severe level CRITICAL where Lambda says FATAL.
        level = named === 'CRITICAL' ? 'FATAL' : APPLICATION_LEVELS.includes(named) ? named : 'INFO';
      }
    } catch {
      // Not JSON: an INFO line.
    }
    return APPLICATION_LEVELS.indexOf(level) >= this.applicationLevel;
  }

  private system(level: 'DEBUG' | 'INFO' | 'WARN', type: string, record: Record<string, unknown>): void {
    if (SYSTEM_LEVELS.indexOf(level) < this.systemLevel) return;
    this.deliver([JSON.stringify({ time: new Date().toISOString(), type, record })]);
  }

  /**
   * The environment is gone (Lambda stops it after a timeout): what its handler, which cannot
   * be stopped in this process, still writes is dropped.
   */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private deliver(lines: string[]): void {
    if (this.closed) return;
    const timestamp = Date.now();
    this.destination.write(
      this.region,
      this.group,
      this.stream,
      lines.map((message) => ({ timestamp, message })),
    );
  }
}

/** The environment log of the invocation (or init) running in this async context. */
const currentLog = new AsyncLocalStorage<EnvironmentLog>();
let intercepted = false;

const CONSOLE_LEVELS: Array<[keyof Console & string, ConsoleLevel]> = [
  ['trace', 'TRACE'],
  ['debug', 'DEBUG'],
  ['info', 'INFO'],
  ['log', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
];

/**
 * Sends what an invocation writes to its execution environment's log, as Lambda captures a
 * function's stdout and stderr and patches its console: `process.stdout.write`,
 * `process.stderr.write` and the console methods go to the log of the invocation running in
 * the async context they are called from, and anywhere else (the local AWS itself, tests) as
 * before. Installed once per process.
 */
function interceptOutput(): void {
  if (intercepted) return;
  intercepted = true;
  for (const channel of ['stdout', 'stderr'] as const) {
    const stream = process[channel];
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const log = currentLog.getStore();
      if (!log) return original(chunk, encoding, callback);
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk as Uint8Array).toString(
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            );
      log.output(channel, text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => done());
      return true;
    }) as typeof stream.write;
  }
  for (const [method, level] of CONSOLE_LEVELS) {
    const original = console[method] as (...args: unknown[]) => void;
    (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...params: unknown[]) => {
      const log = currentLog.getStore();
      if (log) log.console(level, params);
      else original.apply(console, params);
    };
  }
}

/** Runs `fn` with what it writes going to `log`. */
export function withEnvironmentLog<T>(log: EnvironmentLog, fn: () => T): T {
  interceptOutput();
  return currentLog.run(log, fn);
}
