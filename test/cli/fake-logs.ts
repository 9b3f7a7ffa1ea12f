import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  type GetLogEventsCommandOutput,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../lambdas/shared/clock.js';

/**
 * CloudWatch Logs as seen through GetLogEvents, behind aws-sdk-client-mock: streams of
 * events, forward tokens that are positions (the same token comes back at the end of a
 * stream, as AWS does), pages of `pageSize`, throttling on demand, and a record of when
 * every call was made.
 */
export class FakeLogs {
  readonly mock = mockClient(CloudWatchLogsClient);
  readonly streams = new Map<string, Array<{ timestamp: number; message: string }>>();
  /** Virtual time of every GetLogEvents call, accepted or throttled. */
  readonly callTimesMs: number[] = [];
  /** Calls to refuse with ThrottlingException, counted down. */
  throttleNext = 0;
  throttled = 0;
  pageSize = 10;
  /** Token values the calls sent, per stream; a missing token means "from the head". */
  readonly tokensSent = new Map<string, Array<string | undefined>>();

  constructor(private readonly clock: Clock) {
    this.mock.on(GetLogEventsCommand).callsFake(async (input: GetLogEventsCommandInput) => this.get(input));
  }

  private key(group: string | undefined, stream: string | undefined): string {
    return `${group}/${stream}`;
  }

  /** Creates the stream (empty) if it does not exist and appends lines to it. */
  write(group: string, stream: string, messages: string[]): void {
    const key = this.key(group, stream);
    const events = this.streams.get(key) ?? [];
    for (const message of messages) events.push({ timestamp: this.clock.nowMs(), message });
    this.streams.set(key, events);
  }

  private get(input: GetLogEventsCommandInput): GetLogEventsCommandOutput {
    this.callTimesMs.push(this.clock.nowMs());
    const key = this.key(input.logGroupName, input.logStreamName);
    const sent = this.tokensSent.get(key) ?? [];
    sent.push(input.nextToken);
    this.tokensSent.set(key, sent);
    if (this.throttleNext > 0) {
      this.throttleNext -= 1;
      this.throttled += 1;
      throw new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    }
    const events = this.streams.get(key);
    if (!events) {
      throw new ResourceNotFoundException({
        message: 'The specified log stream does not exist.',
        $metadata: { httpStatusCode: 400 },
      });
    }
    let from: number;
    if (input.nextToken) {
      from = Number(input.nextToken.slice(2));
    } else {
      const startTime = input.startTime ?? Number.NEGATIVE_INFINITY;
      from = events.findIndex((e) => e.timestamp >= startTime);
      if (from < 0) from = events.length;
    }
    const page = events.slice(from, from + this.pageSize);
    const to = from + page.length;
    return {
      events: page.map((e) => ({ ...e, ingestionTime: e.timestamp })),
      nextForwardToken: `f/${String(to).padStart(8, '0')}`,
      nextBackwardToken: `b/${String(from).padStart(8, '0')}`,
      $metadata: {},
    };
  }
}
