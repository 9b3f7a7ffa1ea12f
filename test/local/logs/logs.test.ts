import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../../local/local-aws.js';
import { startLocal } from '../local-aws-fixture.js';

let local: LocalAws;
let logs: CloudWatchLogsClient;
const group = '/stepdeploy/app';
const base = Date.UTC(2026, 10, 26, 12, 0, 0);

beforeEach(async () => {
  ({ local, logs } = await startLocal());
  await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'run/app/a' }));
});

afterEach(async () => {
  await local.stop();
});

async function put(stream: string, messages: string[], from = 0) {
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: group,
      logStreamName: stream,
      logEvents: messages.map((message, index) => ({ timestamp: base + from + index, message })),
    }),
  );
}

const lines = (count: number, from = 1) =>
  Array.from({ length: count }, (_, index) => `line ${from + index}`);
const messages = (page: { events?: Array<{ message?: string }> }) =>
  (page.events ?? []).map((event) => event.message);

/** One forward page of 10 events of `stream`, from the head or from `nextToken`. */
const readForward = (stream: string, nextToken?: string) =>
  logs.send(
    new GetLogEventsCommand({
      logGroupName: group,
      logStreamName: stream,
      startFromHead: true,
      limit: 10,
      nextToken,
    }),
  );

describe('GetLogEvents', () => {
  it('pages forward from the head and hands back the same forward token at the end, then the events written later', async () => {
    // Prepare
    await put('run/app/a', lines(25));
    const read = (nextToken?: string) => readForward('run/app/a', nextToken);

    // Act
    const first = await read();
    const second = await read(first.nextForwardToken);
    const third = await read(second.nextForwardToken);
    const atEnd = await read(third.nextForwardToken);
    await put('run/app/a', ['line 26'], 25);
    const later = await read(atEnd.nextForwardToken);

    // Assess
    expect(messages(first)).toEqual(lines(10));
    expect(messages(second)).toEqual(lines(10, 11));
    expect(messages(third)).toEqual(lines(5, 21));
    expect(atEnd.events).toEqual([]);
    expect(atEnd.nextForwardToken).toBe(third.nextForwardToken);
    expect(messages(later)).toEqual(['line 26']);
    expect(first.nextForwardToken).toMatch(/^f\//);
    expect(first.nextBackwardToken).toMatch(/^b\//);
  });

  it('may answer an empty page mid-stream with a new forward token that leads on to the same events (logs-empty-page)', async () => {
    // "Partially full or empty pages don't necessarily mean that pagination is finished":
    // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
    // Prepare
    await put('run/app/a', lines(15));
    const read = (nextToken?: string) => readForward('run/app/a', nextToken);
    const first = await read();
    local.faults.add({ kind: 'logs-empty-page', count: 2 });

    // Act
    const empty = await read(first.nextForwardToken);
    const emptyAgain = await read(empty.nextForwardToken);
    const second = await read(emptyAgain.nextForwardToken);
    const atEnd = await read(second.nextForwardToken);

    // Assess
    expect(empty.events).toEqual([]);
    expect(empty.nextForwardToken).not.toBe(first.nextForwardToken);
    expect(emptyAgain.events).toEqual([]);
    expect(emptyAgain.nextForwardToken).not.toBe(empty.nextForwardToken);
    expect(messages(second)).toEqual(lines(5, 11));
    expect(atEnd.events).toEqual([]);
    expect(atEnd.nextForwardToken).toBe(second.nextForwardToken);
    expect(local.faults.list()).toEqual([]);
  });

  it('returns the latest events without startFromHead, and pages backward with nextBackwardToken', async () => {
    // Prepare
    await put('run/app/a', lines(25));
    const read = (nextToken?: string) =>
      logs.send(
        new GetLogEventsCommand({ logGroupName: group, logStreamName: 'run/app/a', limit: 10, nextToken }),
      );

    // Act
    const tail = await read();
    const before = await read(tail.nextBackwardToken);
    const earliest = await read(before.nextBackwardToken);
    const beyond = await read(earliest.nextBackwardToken);
    const forwardFromTail = await read(tail.nextForwardToken);

    // Assess
    expect(messages(tail)).toEqual(lines(10, 16));
    expect(messages(before)).toEqual(lines(10, 6));
    expect(messages(earliest)).toEqual(lines(5, 1));
    expect(beyond.events).toEqual([]);
    expect(beyond.nextBackwardToken).toBe(earliest.nextBackwardToken);
    expect(forwardFromTail.events).toEqual([]);
    expect(forwardFromTail.nextForwardToken).toBe(tail.nextForwardToken);
  });

  it('returns tokens for an empty stream, and the events put after it when following the forward token', async () => {
    // Act
    const empty = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: 'run/app/a', startFromHead: true }),
    );
    await put('run/app/a', ['first']);
    const next = await logs.send(
      new GetLogEventsCommand({
        logGroupName: group,
        logStreamName: 'run/app/a',
        startFromHead: true,
        nextToken: empty.nextForwardToken,
      }),
    );

    // Assess
    expect(empty.events).toEqual([]);
    expect(empty.nextForwardToken).toBeTruthy();
    expect(empty.nextBackwardToken).toBeTruthy();
    expect(messages(next)).toEqual(['first']);
  });

  it('keeps events in timestamp order and filters by [startTime, endTime)', async () => {
    // Prepare
    await put('run/app/a', ['late'], 100);
    await put('run/app/a', ['early'], 0);
    await put('run/app/a', ['middle'], 50);

    // Act
    const all = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: 'run/app/a', startFromHead: true }),
    );
    const window = await logs.send(
      new GetLogEventsCommand({
        logGroupName: group,
        logStreamName: 'run/app/a',
        startFromHead: true,
        startTime: base + 50,
        endTime: base + 100,
      }),
    );

    // Assess
    expect(messages(all)).toEqual(['early', 'middle', 'late']);
    expect(messages(window)).toEqual(['middle']);
  });

  it('answers ResourceNotFoundException for a missing group or stream, and rejects a malformed token', async () => {
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: 'missing', logStreamName: 'x' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: 'x' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      logs.send(
        new GetLogEventsCommand({ logGroupName: group, logStreamName: 'run/app/a', nextToken: 'garbage' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('FilterLogEvents', () => {
  it('merges the chosen streams in time order, matches plain-text terms and pages with nextToken', async () => {
    // Prepare
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'run/app/b' }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'other/app/c' }));
    await put('run/app/a', ['a migrated users', 'a noise', 'a migrated orders'], 0);
    await put('run/app/b', ['b migrated users', 'b noise'], 1);
    await put('other/app/c', ['c migrated users'], 0);

    // Act
    const first = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: group,
        logStreamNames: ['run/app/a', 'run/app/b'],
        filterPattern: 'migrated',
        limit: 2,
      }),
    );
    const second = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: group,
        logStreamNames: ['run/app/a', 'run/app/b'],
        filterPattern: 'migrated',
        limit: 2,
        nextToken: first.nextToken,
      }),
    );
    const phrase = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: group,
        filterPattern: '"migrated users"',
        startTime: base + 1,
      }),
    );

    // Assess
    expect(first.events?.map((event) => [event.logStreamName, event.message])).toEqual([
      ['run/app/a', 'a migrated users'],
      ['run/app/b', 'b migrated users'],
    ]);
    expect(first.nextToken).toBeTruthy();
    expect(messages(second)).toEqual(['a migrated orders']);
    expect(second.nextToken).toBeUndefined();
    expect(messages(phrase)).toEqual(['b migrated users']);
  });
});

describe('DescribeLogGroups and DescribeLogStreams', () => {
  it('lists groups by prefix and streams by prefix or last event time', async () => {
    // Prepare
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/other' }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'run/app/b' }));
    await put('run/app/b', ['old'], 0);
    await put('run/app/a', ['new'], 10);

    // Act
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/step' }));
    const byName = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: 'run/' }),
    );
    const byTime = await logs.send(
      new DescribeLogStreamsCommand({
        logGroupName: group,
        orderBy: 'LastEventTime',
        descending: true,
        limit: 1,
      }),
    );
    const rest = await logs.send(
      new DescribeLogStreamsCommand({
        logGroupName: group,
        orderBy: 'LastEventTime',
        descending: true,
        limit: 1,
        nextToken: byTime.nextToken,
      }),
    );

    // Assess
    expect(groups.logGroups?.map((item) => item.logGroupName)).toEqual([group]);
    expect(groups.logGroups?.[0]?.arn).toBe(`arn:aws:logs:us-east-1:000000000000:log-group:${group}:*`);
    expect(byName.logStreams?.map((stream) => stream.logStreamName)).toEqual(['run/app/a', 'run/app/b']);
    expect(byTime.logStreams?.map((stream) => [stream.logStreamName, stream.lastEventTimestamp])).toEqual([
      ['run/app/a', base + 10],
    ]);
    expect(rest.logStreams?.map((stream) => stream.logStreamName)).toEqual(['run/app/b']);
    expect(rest.nextToken).toBeUndefined();
    await expect(
      logs.send(
        new DescribeLogStreamsCommand({
          logGroupName: group,
          orderBy: 'LastEventTime',
          logStreamNamePrefix: 'run/',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});
