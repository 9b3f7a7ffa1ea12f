import type { InputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { LocalClock } from '../clock.js';
import type { LogsModel } from './logs-model.js';

/**
 * How often the awslogs driver publishes what a container wrote: Docker's driver sends a
 * batch every 5 seconds (`batchPublishFrequency`), or sooner when a batch is full.
 */
export const AWSLOGS_DEFAULT_INTERVAL_MS = 5_000;

/** PutLogEvents takes at most 10,000 events and 1,048,576 bytes (26 bytes of overhead each). */
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;

/** The awslogs options of one container, resolved. */
export interface AwslogsConfig {
  region: string;
  group: string;
  stream: string;
  /** `awslogs-create-group`: create the group when it does not exist, instead of failing. */
  createGroup: boolean;
}

/** What a driver needs from the local AWS. */
export interface AwslogsDriverOptions {
  logs: LogsModel;
  clock: LocalClock;
  /** Time between two batches, in AWS time (the clock scales it). */
  intervalMs: number;
}

/** The container cannot start: its log stream could not be created. `message` is Docker's. */
export class AwslogsStartError extends Error {
  override name = 'AwslogsStartError';
}

/**
 * The awslogs log driver of one container, as Docker runs it: it creates the log stream
 * when the container starts (and the group too with `awslogs-create-group`; without it a
 * missing group keeps the container from starting), buffers each line with the time it was
 * written, and publishes the buffer on a ticker started with the container, every
 * `intervalMs`, or at once when a batch is full; closing it publishes the rest.
 */
export class AwslogsDriver {
  private buffer: InputLogEvent[] = [];
  private bufferBytes = 0;
  private cancelTick?: () => void;
  private closed = false;
  private readonly startedMs: number;

  private constructor(
    private readonly options: AwslogsDriverOptions,
    readonly config: AwslogsConfig,
  ) {
    this.startedMs = options.clock.nowMs();
  }

  /** Creates the stream (and the group, when asked) and starts the driver; throws `AwslogsStartError`. */
  static open(options: AwslogsDriverOptions, config: AwslogsConfig): AwslogsDriver {
    const { logs } = options;
    if (!logs.findGroup(config.region, config.group)) {
      if (!config.createGroup) {
        throw new AwslogsStartError(
          'failed to initialize logging driver: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.',
        );
      }
      logs.createLogGroup(config.region, config.group, { ifMissing: true });
    }
    logs.createLogStream(config.region, config.group, config.stream, true);
    return new AwslogsDriver(options, config);
  }

  /** Buffers one line written at `timestampMs`; an empty line is dropped, as CloudWatch Logs takes none. */
  write(line: string, timestampMs = this.options.clock.nowMs()): void {
    if (this.closed || line === '') return;
    const bytes = Buffer.byteLength(line, 'utf8') + EVENT_OVERHEAD_BYTES;
    if (this.buffer.length >= MAX_BATCH_EVENTS || this.bufferBytes + bytes > MAX_BATCH_BYTES) this.publish();
    this.buffer.push({ timestamp: timestampMs, message: line });
    this.bufferBytes += bytes;
    this.armTick();
  }

  /** Publishes what is buffered and stops the ticker: the container stopped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.publish();
  }

  /**
   * Arms the next tick of the ticker that started with the container. The ticker only
   * wakes while something waits to be published, at the ticks it would have had anyway.
   */
  private armTick(): void {
    if (this.cancelTick) return;
    const { clock, intervalMs } = this.options;
    const realIntervalMs = Math.max(1, clock.scaledMs(intervalMs));
    const elapsedMs = clock.nowMs() - this.startedMs;
    const nextTickMs = (Math.floor(elapsedMs / realIntervalMs) + 1) * realIntervalMs;
    this.cancelTick = clock.after((nextTickMs - elapsedMs) * clock.timeScale, () => {
      this.cancelTick = undefined;
      this.publish();
    });
  }

  private publish(): void {
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    const { region, group, stream } = this.config;
    try {
      this.options.logs.putLogEvents(region, group, stream, events);
    } catch (error) {
      // Docker's driver logs a failed put and drops the batch; the container keeps running.
      process.stderr.write(
        `local AWS: awslogs could not put ${events.length} event(s) to ${group}/${stream}: ${String(error)}\n`,
      );
    }
  }
}
