import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogFollower, type StreamEnd, type StreamRef } from '../../cli/log-follower.js';
import { RateLimiter } from '../../cli/rate-limiter.js';
import { FakeClock } from './fake-clock.js';
import { FakeLogs } from './fake-logs.js';

const GROUP = '/ecs/app';
const stream = (n: number): StreamRef => ({
  key: `task-${n}`,
  logGroup: GROUP,
  logStream: `app/app/task-${n}`,
  region: 'us-east-1',
});
const lines = (n: number, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `stream ${n} line ${from + i}`);

describe('LogFollower', () => {
  let clock: FakeClock;
  let logs: FakeLogs;
  let received: Map<string, string[]>;
  let ends: Map<string, StreamEnd>;
  let follower: LogFollower;

  function makeFollower(options: { ratePerSecond?: number; startTimeMs?: number } = {}) {
    const client = new CloudWatchLogsClient({ region: 'us-east-1' });
    follower = new LogFollower({
      logsOf: () => client,
      limiter: new RateLimiter({ ratePerSecond: options.ratePerSecond ?? 12, clock }),
      clock,
      idlePollMs: 1000,
      startTimeMs: options.startTimeMs,
      onEvents: (ref, events) => {
        const got = received.get(ref.key) ?? [];
        got.push(...events.map((e) => e.message ?? ''));
        received.set(ref.key, got);
      },
      onEnd: (ref, end) => ends.set(ref.key, end),
    });
    return follower;
  }

  beforeEach(() => {
    clock = new FakeClock();
    logs = new FakeLogs(clock);
    received = new Map();
    ends = new Map();
  });

  afterEach(() => {
    follower?.close();
    logs.mock.restore();
  });

  it('hands over every event once, in order, across pages and lines written while it follows', async () => {
    // Prepare
    logs.write(GROUP, stream(1).logStream, lines(1, 25));
    makeFollower().add(stream(1));
    // Act
    await clock.sleep(3000);
    logs.write(GROUP, stream(1).logStream, lines(1, 17, 25));
    await clock.sleep(3000);
    logs.write(GROUP, stream(1).logStream, lines(1, 3, 42));
    follower.markStopped('task-1');
    await follower.whenAllEnded();
    // Assess
    expect(received.get('task-1')).toEqual(lines(1, 45));
    expect(ends.get('task-1')).toBe('drained');
  });

  // The awslogs driver publishes a batch every 5 s (https://github.com/moby/moby/blob/master/daemon/logger/awslogs/cloudwatchlogs.go):
  // a stream read to its end has nothing new before the next batch.
  it('reads again at once after a full page, and only after idlePollMs once a page reached the end', async () => {
    // Prepare: a page of AWS's 10,000 events, and 5 more.
    logs.pageSize = 10_000;
    logs.write(GROUP, stream(1).logStream, lines(1, 10_005));
    makeFollower().add(stream(1));

    // Act
    await clock.sleep(900);
    const callsBeforeIdle = logs.callTimesMs.length;
    await clock.sleep(200);

    // Assess
    expect(received.get('task-1')).toEqual(lines(1, 10_005));
    expect(callsBeforeIdle).toBe(2);
    expect(logs.callTimesMs.length).toBe(3);
  });

  it('never reads a stream from its head again once it has a token, throttled or not', async () => {
    // Prepare
    logs.write(GROUP, stream(1).logStream, lines(1, 30));
    makeFollower().add(stream(1));
    await clock.sleep(1500);
    // Act
    logs.throttleNext = 6;
    logs.write(GROUP, stream(1).logStream, lines(1, 30, 30));
    await clock.sleep(500);
    follower.markStopped('task-1');
    await follower.whenAllEnded();
    // Assess
    expect(logs.throttled).toBe(6);
    expect(received.get('task-1')).toEqual(lines(1, 60));
    const sent = logs.tokensSent.get(`${GROUP}/${stream(1).logStream}`) ?? [];
    expect(sent[0]).toBeUndefined();
    expect(sent.slice(1).every((token) => token !== undefined)).toBe(true);
  });

  it('does not follow a stream again once it ended', async () => {
    // Prepare
    logs.write(GROUP, stream(7).logStream, lines(7, 3));
    makeFollower().add(stream(7));
    follower.markStopped('task-7');
    await follower.whenAllEnded();
    // Act
    follower.add(stream(7));
    await clock.sleep(5000);
    // Assess
    expect(received.get('task-7')).toEqual(lines(7, 3));
  });

  it('waits for a stream that does not exist yet', async () => {
    // Prepare
    makeFollower().add(stream(2));
    // Act
    await clock.sleep(5000);
    const firstLines = received.get('task-2');
    logs.write(GROUP, stream(2).logStream, lines(2, 12));
    await clock.sleep(2000);
    follower.markStopped('task-2');
    await follower.whenAllEnded();
    // Assess
    expect(firstLines).toBeUndefined();
    expect(received.get('task-2')).toEqual(lines(2, 12));
    expect(ends.get('task-2')).toBe('drained');
  });

  it('ends a stream that never appeared once its task stopped', async () => {
    // Prepare
    makeFollower().add(stream(3));
    // Act
    await clock.sleep(2000);
    follower.markStopped('task-3');
    await follower.whenAllEnded();
    // Assess
    expect(ends.get('task-3')).toBe('never-created');
    expect(received.has('task-3')).toBe(false);
  });

  it('reads the last lines written after the task was marked stopped', async () => {
    // Prepare
    logs.write(GROUP, stream(4).logStream, lines(4, 5));
    makeFollower().add(stream(4));
    await clock.sleep(2000);
    // Act: lines land in CloudWatch a moment after ECS reports the task stopped.
    follower.markStopped('task-4');
    await clock.sleep(600);
    logs.write(GROUP, stream(4).logStream, lines(4, 4, 5));
    await follower.whenAllEnded();
    // Assess
    expect(received.get('task-4')).toEqual(lines(4, 9));
  });

  it('reads from startTime when given one, then forward', async () => {
    // Prepare
    logs.write(GROUP, stream(5).logStream, lines(5, 5));
    await clock.sleep(60_000);
    const sinceMs = clock.nowMs();
    logs.write(GROUP, stream(5).logStream, lines(5, 5, 5));
    // Act
    makeFollower({ startTimeMs: sinceMs }).add(stream(5));
    await clock.sleep(1500);
    follower.markStopped('task-5');
    await follower.whenAllEnded();
    // Assess
    expect(received.get('task-5')).toEqual(lines(5, 5, 5));
  });

  it('follows 20 busy streams within the rate, fairly, losing and repeating nothing', async () => {
    // Prepare
    const count = 20;
    const perStream = 300;
    makeFollower({ ratePerSecond: 12 });
    for (let n = 0; n < count; n++) follower.add(stream(n));
    // Act: every stream gets 30 lines every second for 10 seconds, with a burst of throttling.
    for (let second = 0; second < 10; second++) {
      for (let n = 0; n < count; n++) logs.write(GROUP, stream(n).logStream, lines(n, 30, second * 30));
      if (second === 4) logs.throttleNext = 10;
      await clock.sleep(1000);
    }
    const midway = Array.from({ length: count }, (_, n) => received.get(`task-${n}`)?.length ?? 0);
    for (let n = 0; n < count; n++) follower.markStopped(`task-${n}`);
    await follower.whenAllEnded();
    // Assess
    for (let n = 0; n < count; n++) expect(received.get(`task-${n}`)).toEqual(lines(n, perStream));
    const times = logs.callTimesMs;
    const burst = Math.max(1, Math.floor(12 / 4));
    for (const start of times) {
      const inWindow = times.filter((t) => t >= start && t < start + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(12 + burst);
    }
    expect(logs.throttled).toBe(10);
    // Round robin: while all are backlogged, no stream gets far ahead of another.
    expect(Math.min(...midway)).toBeGreaterThanOrEqual(Math.max(...midway) - 2 * logs.pageSize);
  });

  it('ends a stream it may not read and reports why', async () => {
    // Prepare
    const client = new CloudWatchLogsClient({ region: 'us-east-1' });
    const failures: unknown[] = [];
    logs.mock.reset();
    logs.mock.rejects(
      Object.assign(new Error('User is not authorized to perform: logs:GetLogEvents'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    follower = new LogFollower({
      logsOf: () => client,
      limiter: new RateLimiter({ ratePerSecond: 12, clock }),
      clock,
      onEvents: () => undefined,
      onEnd: (ref, end, error) => {
        ends.set(ref.key, end);
        failures.push(error);
      },
    });
    // Act
    follower.add(stream(6));
    await follower.whenAllEnded();
    // Assess
    expect(ends.get('task-6')).toBe('failed');
    expect((failures[0] as Error).name).toBe('AccessDeniedException');
  });
});

describe('RateLimiter', () => {
  it('never lets more than rate + burst calls through in any one-second window', async () => {
    // Prepare
    const clock = new FakeClock();
    const limiter = new RateLimiter({ ratePerSecond: 12, clock });
    const times: number[] = [];
    // Act
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 30; i++) {
          await limiter.take();
          times.push(clock.nowMs());
        }
      }),
    );
    // Assess
    expect(times).toHaveLength(240);
    for (const start of times) {
      expect(times.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(
        12 + limiter.burst,
      );
    }
    const spanSeconds = (times[times.length - 1] - times[0]) / 1000;
    expect(240 / spanSeconds).toBeLessThanOrEqual(12.5);
  });

  it('pauses every caller after throttling, longer while it goes on, and recovers after a success', async () => {
    // Prepare
    const clock = new FakeClock();
    const limiter = new RateLimiter({ ratePerSecond: 10, clock });
    // Act
    const first = limiter.throttled();
    const sameEpisode = limiter.throttled();
    const before = clock.nowMs();
    await limiter.take();
    const waited = clock.nowMs() - before;
    const second = limiter.throttled();
    await limiter.take();
    limiter.succeeded();
    await limiter.take();
    const afterSuccess = limiter.throttled();
    // Assess
    expect(sameEpisode).toBe(first);
    expect(waited).toBeGreaterThanOrEqual(first);
    expect(second).toBe(first * 2);
    expect(afterSuccess).toBe(first);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new RateLimiter({ ratePerSecond: 0, clock: new FakeClock() })).toThrow(
      /ratePerSecond must be > 0/,
    );
  });
});
