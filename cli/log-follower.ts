import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import type { Clock } from '../lambdas/shared/clock.js';
import type { RateLimiter } from './rate-limiter.js';

/** One CloudWatch Logs stream to follow. */
export interface StreamRef {
  /** Unique key of the stream among the followed ones (the task ARN does). */
  readonly key: string;
  readonly logGroup: string;
  readonly logStream: string;
  readonly region: string;
}

/** Why a stream's follow ended. */
export type StreamEnd =
  /** Its task stopped and the stream returned nothing new for the quiet period. */
  | 'drained'
  /** Its task stopped and the stream never appeared. */
  | 'never-created'
  /** Reading it failed for good (access denied, log group deleted...). */
  | 'failed'
  /** The follower was closed before the stream was drained. */
  | 'closed';

/** Settings of a `LogFollower`. */
export interface LogFollowerProps {
  /** The CloudWatch Logs client of a Region. Make it with `maxAttempts: 1`: retries go through the limiter here. */
  readonly logsOf: (region: string) => CloudWatchLogsClient;
  /** The one limiter every Logs call of the process goes through. */
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  /** Receives each page of new events of a stream, in stream order, each event exactly once. */
  readonly onEvents: (stream: StreamRef, events: OutputLogEvent[]) => void;
  /** Called once per stream when its follow ends. */
  readonly onEnd?: (stream: StreamRef, end: StreamEnd, error?: unknown) => void;
  /**
   * Delay before polling again a stream that had nothing new.
   * @default 1000
   */
  readonly idlePollMs?: number;
  /**
   * Polls in a row that return the same forward token, after the task stopped, before the
   * stream counts as drained.
   * @default 2
   */
  readonly quietPolls?: number;
  /**
   * Read each stream from this time (ms since the epoch) instead of from its head.
   * @default the head of the stream
   */
  readonly startTimeMs?: number;
  /**
   * Calls in flight at once; the limiter bounds the rate, this bounds the latency it costs.
   * @default 4
   */
  readonly concurrency?: number;
}

interface StreamState {
  ref: StreamRef;
  /** The forward token to read from; undefined until the first successful read. */
  token: string | undefined;
  stopped: boolean;
  /** Polls since the task stopped that brought nothing new. */
  quiet: number;
  /** Whether the stream has ever been found. */
  found: boolean;
  dueAtMs: number;
  polledAtMs: number;
  inFlight: boolean;
  errorBackoffMs: number;
}

/** What one GetLogEvents page holds at most (no `limit` given): 10,000 events, 1 MB with 26 bytes per event. */
const PAGE_MAX_EVENTS = 10_000;
const PAGE_MAX_BYTES = 1_048_576;
/**
 * A page this close to 1 MB may have stopped short of its next event. Events may now be up
 * to 1 MB: a page stopped short of a larger one is read on after `idlePollMs`, only later.
 */
const EVENT_MAX_BYTES = 262_144;

/** Whether a page of events may have stopped at a page limit rather than at the end of the stream. */
function mayHaveMore(events: OutputLogEvent[]): boolean {
  if (events.length >= PAGE_MAX_EVENTS) return true;
  const bytes = events.reduce((sum, event) => sum + Buffer.byteLength(event.message ?? '', 'utf8') + 26, 0);
  return bytes > PAGE_MAX_BYTES - EVENT_MAX_BYTES;
}

const TRANSIENT_BACKOFF_MS = 1000;
const MAX_TRANSIENT_BACKOFF_MS = 15_000;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function httpStatusOf(error: unknown): number | undefined {
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return meta?.httpStatusCode;
}

/** True for the errors by which CloudWatch Logs says "slow down". */
export function isThrottling(error: unknown): boolean {
  const name = errorName(error);
  return (
    name === 'ThrottlingException' ||
    name === 'Throttling' ||
    name === 'TooManyRequestsException' ||
    name === 'LimitExceededException' ||
    httpStatusOf(error) === 429 ||
    (error as { $retryable?: { throttling?: boolean } } | undefined)?.$retryable?.throttling === true
  );
}

function isTransient(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return status >= 500;
  // No HTTP status: the request never got an answer (connection reset, timeout).
  const name = errorName(error);
  return name !== 'AccessDeniedException' && name !== 'InvalidParameterException';
}

/**
 * Follows many CloudWatch Logs streams at once and hands over every event exactly once,
 * in stream order.
 *
 * Each stream is read from its head (or `startTimeMs`) and then only ever forward with the
 * `nextForwardToken` of the last successful read; a failed read is retried with the same
 * token, so nothing is skipped and nothing is read twice whatever the throttling. A stream
 * that does not exist yet is waited for. After `markStopped`, a stream is read until it
 * returns the same forward token `quietPolls` times in a row, so the last lines of a task
 * are never cut off. Every call goes through one shared `RateLimiter`; the stream polled
 * longest ago goes first; a stream that returned a full page is due again at once, one read
 * to its end (or that returned nothing) after `idlePollMs`.
 */
export class LogFollower {
  private readonly props: LogFollowerProps;
  private readonly idlePollMs: number;
  private readonly quietPolls: number;
  private readonly streams = new Map<string, StreamState>();
  private readonly added = new Set<string>();
  private closed = false;
  private wake: (() => void) | undefined;
  private running = false;
  private readonly endWaiters = new Map<string, Array<() => void>>();

  constructor(props: LogFollowerProps) {
    this.props = props;
    this.idlePollMs = props.idlePollMs ?? 1000;
    this.quietPolls = Math.max(1, props.quietPolls ?? 2);
  }

  /** Starts following a stream; adding a key again, even after its stream ended, is ignored. */
  add(ref: StreamRef): void {
    // Following an ended stream again would start from its head and print its lines twice.
    if (this.closed || this.added.has(ref.key)) return;
    this.added.add(ref.key);
    this.streams.set(ref.key, {
      ref,
      token: undefined,
      stopped: false,
      quiet: 0,
      found: false,
      dueAtMs: this.props.clock.nowMs(),
      polledAtMs: Number.NEGATIVE_INFINITY,
      inFlight: false,
      errorBackoffMs: TRANSIENT_BACKOFF_MS,
    });
    this.start();
    this.notify();
  }

  /** The stream's task stopped: read on until the stream is drained, then end it. */
  markStopped(key: string): void {
    const state = this.streams.get(key);
    if (!state || state.stopped) return;
    state.stopped = true;
    state.quiet = 0;
    state.dueAtMs = Math.min(state.dueAtMs, this.props.clock.nowMs());
    this.notify();
  }

  /** Resolves when the stream's follow ended (immediately when it is not followed). */
  whenEnded(key: string): Promise<void> {
    if (!this.streams.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.endWaiters.get(key) ?? [];
      waiters.push(resolve);
      this.endWaiters.set(key, waiters);
    });
  }

  /** Resolves when every stream followed now has ended. */
  async whenAllEnded(): Promise<void> {
    await Promise.all([...this.streams.keys()].map((key) => this.whenEnded(key)));
  }

  /** Stops following every stream at once; they end as `closed` and nothing more is handed over. */
  close(): void {
    this.closed = true;
    for (const state of [...this.streams.values()]) this.end(state, 'closed');
    this.notify();
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < Math.max(1, this.props.concurrency ?? 4); i++) void this.work();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The stream to poll next: due, not in flight, polled longest ago. */
  private pick(nowMs: number): StreamState | undefined {
    let best: StreamState | undefined;
    for (const state of this.streams.values()) {
      if (state.inFlight || state.dueAtMs > nowMs) continue;
      if (!best || state.polledAtMs < best.polledAtMs) best = state;
    }
    return best;
  }

  private nextDueMs(): number {
    let due = Number.POSITIVE_INFINITY;
    for (const state of this.streams.values()) if (!state.inFlight) due = Math.min(due, state.dueAtMs);
    return due;
  }

  private async waitForWork(): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
    const dueMs = this.nextDueMs();
    if (Number.isFinite(dueMs)) {
      await Promise.race([woken, this.props.clock.sleep(Math.max(1, dueMs - this.props.clock.nowMs()))]);
    } else {
      await woken;
    }
  }

  private async work(): Promise<void> {
    while (!this.closed) {
      const state = this.pick(this.props.clock.nowMs());
      if (!state) {
        await this.waitForWork();
        continue;
      }
      state.inFlight = true;
      state.polledAtMs = this.props.clock.nowMs();
      try {
        await this.props.limiter.take();
        if (!this.closed) await this.poll(state);
      } finally {
        state.inFlight = false;
      }
      // Another worker may be waiting for this stream or for the next due time.
      this.notify();
    }
  }

  private async poll(state: StreamState): Promise<void> {
    const { ref } = state;
    const sentToken = state.token;
    const nowMs = () => this.props.clock.nowMs();
    let page: GetLogEventsCommandOutput;
    try {
      page = await this.props.logsOf(ref.region).send(
        new GetLogEventsCommand({
          logGroupName: ref.logGroup,
          logStreamName: ref.logStream,
          startFromHead: true,
          ...(sentToken ? { nextToken: sentToken } : { startTime: this.props.startTimeMs }),
        }),
      );
    } catch (error) {
      if (this.closed) return;
      if (isThrottling(error)) {
        // The limiter pauses everyone; this stream retries with the same token right after.
        this.props.limiter.throttled();
        state.dueAtMs = nowMs();
        return;
      }
      if (errorName(error) === 'ResourceNotFoundException' && !state.found) {
        if (state.stopped && ++state.quiet >= this.quietPolls) {
          this.end(state, 'never-created');
          return;
        }
        state.dueAtMs = nowMs() + this.idlePollMs;
        return;
      }
      if (isTransient(error)) {
        state.dueAtMs = nowMs() + state.errorBackoffMs;
        state.errorBackoffMs = Math.min(MAX_TRANSIENT_BACKOFF_MS, state.errorBackoffMs * 2);
        return;
      }
      this.end(state, 'failed', error);
      return;
    }
    if (this.closed) return;
    this.props.limiter.succeeded();
    state.found = true;
    state.errorBackoffMs = TRANSIENT_BACKOFF_MS;
    const events = page.events ?? [];
    const nextToken = page.nextForwardToken ?? sentToken;
    state.token = nextToken;
    if (events.length > 0) {
      state.quiet = 0;
      // A short page reached the end of the stream: the awslogs driver publishes in batches
      // (every 5 s), so reading again at once would only spend a call of the shared rate.
      state.dueAtMs = mayHaveMore(events) ? nowMs() : nowMs() + this.idlePollMs;
      this.props.onEvents(ref, events);
      return;
    }
    if (state.stopped) {
      // Same token back means the end of the stream; a new token with no events may still hide more.
      if (sentToken !== undefined && nextToken === sentToken) state.quiet += 1;
      if (state.quiet >= this.quietPolls) {
        this.end(state, 'drained');
        return;
      }
    }
    state.dueAtMs = nextToken === sentToken ? nowMs() + this.idlePollMs : nowMs();
  }

  private end(state: StreamState, end: StreamEnd, error?: unknown): void {
    const key = state.ref.key;
    if (this.streams.get(key) !== state) return;
    this.streams.delete(key);
    this.props.onEnd?.(state.ref, end, error);
    for (const resolve of this.endWaiters.get(key) ?? []) resolve();
    this.endWaiters.delete(key);
  }
}
