import type {
  DescribeLogGroupsRequest,
  DescribeLogStreamsRequest,
  FilterLogEventsRequest,
  GetLogEventsRequest,
  InputLogEvent,
  PutLogEventsRequest,
} from '@aws-sdk/client-cloudwatch-logs';
import { AwsError, required } from '../aws-error.js';
import { ACCOUNT_ID } from '../server.js';

/** One stored log event. `seq` orders events ingested at the same timestamp. */
export interface StoredLogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  seq: number;
}

/** A log stream and its events, kept in timestamp order. */
export interface LogStream {
  name: string;
  arn: string;
  creationTime: number;
  events: StoredLogEvent[];
  storedBytes: number;
  lastIngestionTime?: number;
}

/** A log group of one Region. */
export interface LogGroup {
  name: string;
  region: string;
  arn: string;
  creationTime: number;
  retentionInDays?: number;
  tags: Record<string, string>;
  streams: Map<string, LogStream>;
}

/** What one GetLogEvents call returns. */
export interface LogEventsPage {
  events: Array<{ timestamp: number; message: string; ingestionTime: number }>;
  nextForwardToken: string;
  nextBackwardToken: string;
}

/** AWS caps one GetLogEvents/FilterLogEvents response at 10,000 events and 1 MB. */
const MAX_EVENTS = 10_000;
const MAX_BYTES = 1_048_576;
/** CloudWatch Logs counts 26 bytes of overhead per event. */
const EVENT_OVERHEAD_BYTES = 26;

const eventBytes = (message: string) => Buffer.byteLength(message, 'utf8') + EVENT_OVERHEAD_BYTES;

// Tokens look like AWS's (`f/<digits>/s`); the digits are a position in the stream.
const positionToken = (direction: 'f' | 'b', position: number) =>
  `${direction}/${String(position).padStart(56, '0')}/s`;

/** A forward token other than `given` for the same position: its digits padded otherwise. */
const otherForwardToken = (given: string | undefined, position: number) =>
  given === positionToken('f', position) ? `f/${position}/s` : positionToken('f', position);

function parsePositionToken(token: string): { direction: 'f' | 'b'; position: number } {
  const match = /^([fb])\/(\d{1,56})\/s$/.exec(token);
  if (!match)
    throw new AwsError('InvalidParameterException', `The specified nextToken is invalid: ${token}.`);
  return { direction: match[1] as 'f' | 'b', position: Number(match[2]) };
}

const pageToken = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

function parsePageToken<T>(token: string, check: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // falls through to the error below
  }
  throw new AwsError('InvalidParameterException', `The specified nextToken is invalid: ${token}.`);
}

const isOffset = (value: unknown): value is { o: number } =>
  typeof value === 'object' && value !== null && typeof (value as { o?: unknown }).o === 'number';

const isEventKey = (value: unknown): value is { t: number; s: number } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { t?: unknown }).t === 'number' &&
  typeof (value as { s?: unknown }).s === 'number';

/** Index of the first event whose timestamp is greater than `timestamp` (upper bound). */
function insertionIndex(events: StoredLogEvent[], timestamp: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (events[mid].timestamp <= timestamp) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Terms of a plain-text filter pattern: words, or phrases in double quotes; all must occur. */
function textPatternTerms(pattern: string | undefined): string[] {
  const text = (pattern ?? '').trim();
  if (text.startsWith('{') || text.startsWith('[') || text.startsWith('%')) {
    throw new AwsError(
      'InvalidParameterException',
      `Filter pattern ${text} is not supported by the local AWS: use plain-text terms (words or "quoted phrases").`,
    );
  }
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)]
    .map((match) => match[1] ?? match[2])
    .filter((term) => term !== '');
}

/**
 * CloudWatch Logs of the local AWS: log groups per Region, streams, events in
 * timestamp order, and the read APIs with the paging tokens AWS documents.
 */
export class LogsModel {
  private readonly groups = new Map<string, LogGroup>();
  private seq = 0;

  /** The log group, or undefined. */
  findGroup(region: string, name: string): LogGroup | undefined {
    return this.groups.get(`${region}|${name}`);
  }

  /** The log group, or `ResourceNotFoundException`. */
  group(region: string, name: string): LogGroup {
    const group = this.findGroup(region, name);
    if (!group) {
      throw new AwsError(
        'ResourceNotFoundException',
        `The specified log group does not exist: ${name} in ${region}. Create it first (CreateLogGroup).`,
      );
    }
    return group;
  }

  /** Every stream of a Region, with the name of its group. */
  streamsOf(region: string): Array<{ group: string; stream: LogStream }> {
    return [...this.groups.values()]
      .filter((group) => group.region === region)
      .flatMap((group) => [...group.streams.values()].map((stream) => ({ group: group.name, stream })));
  }

  /** The log stream, or `ResourceNotFoundException`. */
  stream(region: string, groupName: string, streamName: string): LogStream {
    const stream = this.group(region, groupName).streams.get(streamName);
    if (!stream) {
      throw new AwsError(
        'ResourceNotFoundException',
        `The specified log stream does not exist: ${streamName} in log group ${groupName} (${region}).`,
      );
    }
    return stream;
  }

  /** Creates a log group; `ResourceAlreadyExistsException` when it exists unless `ifMissing`. */
  createLogGroup(
    region: string,
    name: string,
    options: { retentionInDays?: number; tags?: Record<string, string>; ifMissing?: boolean } = {},
  ): LogGroup {
    const existing = this.findGroup(region, name);
    if (existing) {
      if (options.ifMissing) return existing;
      throw new AwsError(
        'ResourceAlreadyExistsException',
        `The specified log group already exists: ${name}.`,
      );
    }
    if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
      throw new AwsError(
        'InvalidParameterException',
        `Log group name ${name} is invalid: use 1-512 of letters, digits, '_', '-', '/', '.', '#'.`,
      );
    }
    const group: LogGroup = {
      name,
      region,
      arn: `arn:aws:logs:${region}:${ACCOUNT_ID}:log-group:${name}`,
      creationTime: Date.now(),
      retentionInDays: options.retentionInDays,
      tags: { ...(options.tags ?? {}) },
      streams: new Map(),
    };
    this.groups.set(`${region}|${name}`, group);
    return group;
  }

  /** Creates a log stream; `ResourceAlreadyExistsException` when it exists unless `ifMissing`. */
  createLogStream(region: string, groupName: string, streamName: string, ifMissing = false): LogStream {
    const group = this.group(region, groupName);
    const existing = group.streams.get(streamName);
    if (existing) {
      if (ifMissing) return existing;
      throw new AwsError(
        'ResourceAlreadyExistsException',
        `The specified log stream already exists: ${streamName}.`,
      );
    }
    if (
      streamName === '' ||
      streamName.includes(':') ||
      streamName.includes('*') ||
      streamName.length > 512
    ) {
      throw new AwsError(
        'InvalidParameterException',
        `Log stream name ${streamName} is invalid: 1-512 characters, no ':' or '*'.`,
      );
    }
    const stream: LogStream = {
      name: streamName,
      arn: `${group.arn}:log-stream:${streamName}`,
      creationTime: Date.now(),
      events: [],
      storedBytes: 0,
    };
    group.streams.set(streamName, stream);
    return stream;
  }

  /** Appends events to a stream (kept in timestamp order). */
  putLogEvents(region: string, groupName: string, streamName: string, events: InputLogEvent[]): void {
    const stream = this.stream(region, groupName, streamName);
    const ingestionTime = Date.now();
    for (const event of events) {
      const stored: StoredLogEvent = {
        timestamp: required(event.timestamp, 'logEvents[].timestamp'),
        message: required(event.message, 'logEvents[].message'),
        ingestionTime,
        seq: this.seq++,
      };
      const last = stream.events[stream.events.length - 1];
      if (!last || last.timestamp <= stored.timestamp) stream.events.push(stored);
      else stream.events.splice(insertionIndex(stream.events, stored.timestamp), 0, stored);
      stream.storedBytes += eventBytes(stored.message);
      stream.lastIngestionTime = ingestionTime;
    }
  }

  /**
   * GetLogEvents, with AWS's token semantics (see the handler's doc). `emptyPage` says whether
   * a forward read that would return events answers an empty page with a new token instead
   * (the `logs-empty-page` fault): AWS may, mid-stream.
   */
  getLogEvents(
    region: string,
    request: GetLogEventsRequest,
    emptyPage: () => boolean = () => false,
  ): LogEventsPage {
    const groupName = groupNameOf(request.logGroupName, request.logGroupIdentifier);
    const stream = this.stream(region, groupName, required(request.logStreamName, 'logStreamName'));
    const events = stream.events;
    const limit = Math.min(request.limit ?? MAX_EVENTS, MAX_EVENTS);
    if (limit < 1)
      throw new AwsError('InvalidParameterException', `limit ${limit} is invalid: pass 1-10000.`);
    const inRange = (event: StoredLogEvent) =>
      (request.startTime === undefined || event.timestamp >= request.startTime) &&
      (request.endTime === undefined || event.timestamp < request.endTime);
    const token = request.nextToken ? parsePositionToken(request.nextToken) : undefined;
    const forward = token ? token.direction === 'f' : request.startFromHead === true;
    const picked: number[] = [];
    let bytes = 0;
    const take = (index: number) => {
      const size = eventBytes(events[index].message);
      if (picked.length >= limit || (picked.length > 0 && bytes + size > MAX_BYTES)) return false;
      picked.push(index);
      bytes += size;
      return true;
    };
    if (forward) {
      const from = Math.min(token?.position ?? 0, events.length);
      for (let index = from; index < events.length; index++) {
        if (inRange(events[index]) && !take(index)) break;
      }
    } else {
      const before = Math.min(token?.position ?? events.length, events.length);
      for (let index = before - 1; index >= 0; index--) {
        if (inRange(events[index]) && !take(index)) break;
      }
      picked.reverse();
    }
    const page = picked.map((index) => {
      const { timestamp, message, ingestionTime } = events[index];
      return { timestamp, message, ingestionTime };
    });
    if (picked.length === 0) {
      // At either end of the stream, AWS hands back the token it was given.
      const here = token?.position ?? (forward ? 0 : events.length);
      return {
        events: [],
        nextForwardToken:
          token?.direction === 'f'
            ? (request.nextToken as string)
            : positionToken('f', forward ? events.length : here),
        nextBackwardToken:
          token?.direction === 'b' ? (request.nextToken as string) : positionToken('b', here),
      };
    }
    if (forward && emptyPage()) {
      const position = token?.position ?? picked[0];
      return {
        events: [],
        nextForwardToken: otherForwardToken(request.nextToken, position),
        nextBackwardToken: positionToken('b', position),
      };
    }
    return {
      events: page,
      nextForwardToken: positionToken('f', picked[picked.length - 1] + 1),
      nextBackwardToken: positionToken('b', picked[0]),
    };
  }

  /** FilterLogEvents over the chosen streams of a group, merged in timestamp order. */
  filterLogEvents(region: string, request: FilterLogEventsRequest) {
    const group = this.group(region, groupNameOf(request.logGroupName, request.logGroupIdentifier));
    if (request.logStreamNames && request.logStreamNamePrefix) {
      throw new AwsError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefix cannot both be specified; pass one of them.',
      );
    }
    const terms = textPatternTerms(request.filterPattern);
    const limit = Math.min(request.limit ?? MAX_EVENTS, MAX_EVENTS);
    const after = request.nextToken ? parsePageToken(request.nextToken, isEventKey) : undefined;
    const streams = [...group.streams.values()].filter((stream) =>
      request.logStreamNames
        ? request.logStreamNames.includes(stream.name)
        : stream.name.startsWith(request.logStreamNamePrefix ?? ''),
    );
    const matches: Array<{ stream: LogStream; event: StoredLogEvent }> = [];
    for (const stream of streams) {
      for (const event of stream.events) {
        if (request.startTime !== undefined && event.timestamp < request.startTime) continue;
        if (request.endTime !== undefined && event.timestamp > request.endTime) continue;
        if (after && (event.timestamp < after.t || (event.timestamp === after.t && event.seq <= after.s)))
          continue;
        if (!terms.every((term) => event.message.includes(term))) continue;
        matches.push({ stream, event });
      }
    }
    matches.sort((a, b) => a.event.timestamp - b.event.timestamp || a.event.seq - b.event.seq);
    const page: typeof matches = [];
    let bytes = 0;
    for (const match of matches) {
      const size = eventBytes(match.event.message);
      if (page.length >= limit || (page.length > 0 && bytes + size > MAX_BYTES)) break;
      page.push(match);
      bytes += size;
    }
    const last = page[page.length - 1];
    return {
      events: page.map(({ stream, event }) => ({
        logStreamName: stream.name,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
        eventId: String(event.seq).padStart(56, '0'),
      })),
      searchedLogStreams: streams.map((stream) => ({ logStreamName: stream.name, searchedCompletely: true })),
      nextToken:
        page.length < matches.length && last
          ? pageToken({ t: last.event.timestamp, s: last.event.seq })
          : undefined,
    };
  }

  /** DescribeLogGroups: by name prefix, in name order, 50 a page. */
  describeLogGroups(region: string, request: DescribeLogGroupsRequest) {
    const groups = [...this.groups.values()]
      .filter((group) => group.region === region && group.name.startsWith(request.logGroupNamePrefix ?? ''))
      .filter((group) => !request.logGroupNamePattern || group.name.includes(request.logGroupNamePattern))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { page, nextToken } = paginate(groups, request.limit ?? 50, 50, request.nextToken);
    return {
      logGroups: page.map((group) => ({
        logGroupName: group.name,
        creationTime: group.creationTime,
        retentionInDays: group.retentionInDays,
        metricFilterCount: 0,
        arn: `${group.arn}:*`,
        logGroupArn: group.arn,
        storedBytes: [...group.streams.values()].reduce((sum, stream) => sum + stream.storedBytes, 0),
        logGroupClass: 'STANDARD',
      })),
      nextToken,
    };
  }

  /** DescribeLogStreams: by name prefix or by last event time, 50 a page. */
  describeLogStreams(region: string, request: DescribeLogStreamsRequest) {
    const group = this.group(region, groupNameOf(request.logGroupName, request.logGroupIdentifier));
    const orderBy = request.orderBy ?? 'LogStreamName';
    if (orderBy === 'LastEventTime' && request.logStreamNamePrefix) {
      throw new AwsError(
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix; drop one of them.',
      );
    }
    const lastEventTime = (stream: LogStream) => stream.events[stream.events.length - 1]?.timestamp ?? 0;
    const streams = [...group.streams.values()]
      .filter((stream) => stream.name.startsWith(request.logStreamNamePrefix ?? ''))
      .sort((a, b) =>
        orderBy === 'LastEventTime'
          ? lastEventTime(a) - lastEventTime(b)
          : a.name < b.name
            ? -1
            : a.name > b.name
              ? 1
              : 0,
      );
    if (request.descending) streams.reverse();
    const { page, nextToken } = paginate(streams, request.limit ?? 50, 50, request.nextToken);
    return {
      logStreams: page.map((stream) => {
        const first = stream.events[0];
        const last = stream.events[stream.events.length - 1];
        return {
          logStreamName: stream.name,
          arn: stream.arn,
          creationTime: stream.creationTime,
          firstEventTimestamp: first?.timestamp,
          lastEventTimestamp: last?.timestamp,
          lastIngestionTime: stream.lastIngestionTime,
          storedBytes: stream.storedBytes,
        };
      }),
      nextToken,
    };
  }

  /** PutLogEvents as the API takes it: events of one batch must be in chronological order. */
  putLogEventsRequest(region: string, request: PutLogEventsRequest) {
    const events = required(request.logEvents, 'logEvents');
    for (let index = 1; index < events.length; index++) {
      if ((events[index].timestamp ?? 0) < (events[index - 1].timestamp ?? 0)) {
        throw new AwsError(
          'InvalidParameterException',
          'Log events in a single PutLogEvents request must be in chronological order; sort them by timestamp.',
        );
      }
    }
    this.putLogEvents(
      region,
      groupNameOf(request.logGroupName, undefined),
      required(request.logStreamName, 'logStreamName'),
      events,
    );
    return { nextSequenceToken: String(this.seq).padStart(56, '0') };
  }

  /** Deletes a log group and its streams. */
  deleteLogGroup(region: string, name: string): void {
    this.group(region, name);
    this.groups.delete(`${region}|${name}`);
  }

  /** Deletes a log stream. */
  deleteLogStream(region: string, groupName: string, streamName: string): void {
    this.stream(region, groupName, streamName);
    this.group(region, groupName).streams.delete(streamName);
  }
}

/** A log group name from a name or an identifier (name or ARN). */
function groupNameOf(name: string | undefined, identifier: string | undefined): string {
  if (name && identifier) {
    throw new AwsError(
      'InvalidParameterException',
      'logGroupName and logGroupIdentifier cannot both be specified; pass one of them.',
    );
  }
  const value = required(name ?? identifier, 'logGroupName');
  const arn = /^arn:aws[a-z-]*:logs:[^:]*:\d{12}:log-group:([^:]+)(:\*)?$/.exec(value);
  return arn ? arn[1] : value;
}

function paginate<T>(
  items: T[],
  limit: number,
  maxLimit: number,
  token: string | undefined,
): { page: T[]; nextToken?: string } {
  if (limit < 1 || limit > maxLimit) {
    throw new AwsError('InvalidParameterException', `limit ${limit} is invalid: pass 1-${maxLimit}.`);
  }
  const offset = token ? parsePageToken(token, isOffset).o : 0;
  const page = items.slice(offset, offset + limit);
  return { page, nextToken: offset + limit < items.length ? pageToken({ o: offset + limit }) : undefined };
}
