import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployTemplate } from '../../../local/cloudformation.js';
import { LocalAws } from '../../../local/local-aws.js';
import type { LambdaFunction } from '../../../local/stepfunctions/lambda-functions.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const REGION = 'us-east-1';

const talker = (loggingConfig?: Record<string, unknown>) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'stepdeploy:handler': 'talk' },
  Properties: { Timeout: 60, MemorySize: 256, ...(loggingConfig ? { LoggingConfig: loggingConfig } : {}) },
});

const template = {
  Resources: {
    TextGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: '/test/text', RetentionInDays: 14 },
    },
    JsonGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/test/json' } },
    TextFn: talker({ LogGroup: { Ref: 'TextGroup' } }),
    JsonFn: talker({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'WARN',
      SystemLogLevel: 'INFO',
      LogGroup: { Ref: 'JsonGroup' },
    }),
    QuietFn: talker({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' }),
    DefaultFn: talker(),
    ShortFn: {
      ...talker({ LogGroup: { Ref: 'ShortGroup' } }),
      Properties: { Timeout: 1, LoggingConfig: { LogGroup: { Ref: 'ShortGroup' } } },
    },
    ShortGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/test/short' } },
  },
};

let local: LocalAws;
let functions: Record<string, LambdaFunction>;

beforeEach(async () => {
  local = await LocalAws.start({ port: 0, timeScale: 100, repoRoot: FIXTURES, iam: false });
  await deployTemplate(local, template);
  functions = Object.fromEntries(local.lambdas.list().map((fn) => [fn.functionName.replace(/-.*$/, ''), fn]));
});

afterEach(async () => {
  await local.stop();
});

const fn = (prefix: string): LambdaFunction => {
  const found = local.lambdas.list().find((candidate) => candidate.functionName.includes(prefix));
  if (!found) throw new Error(`no function ${prefix} among ${Object.keys(functions).join(', ')}`);
  return found;
};

/** Every stream of a group with its messages, oldest first. */
const streamsOf = (group: string) =>
  [...local.logs.group(REGION, group).streams.values()].map((stream) => ({
    name: stream.name,
    messages: stream.events.map((event) => event.message),
  }));

const requestIdOf = (line: string) => /RequestId: ([0-9a-f-]{36})/.exec(line)?.[1];

describe('Lambda function logs', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html (custom group: the
  // stream names the function), https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html (START, END,
  // REPORT around the function's lines), aws-lambda-nodejs-runtime-interface-client src/LogPatch.js (console).
  it("puts an invocation's lines in its environment's stream of the function's group, between START, END and REPORT", async () => {
    // Act
    const result = await local.lambdas.invoke(fn('TextFn'), { id: 'one' });

    // Assess
    expect(result).toEqual({ level: null, format: 'TEXT' });
    const [stream, ...others] = streamsOf('/test/text');
    expect(others).toEqual([]);
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    expect(stream.name).toMatch(
      new RegExp(`^${today}/${fn('TextFn').functionName}\\[\\$LATEST\\][0-9a-f]{32}$`),
    );
    const requestId = requestIdOf(stream.messages[0]);
    expect(stream.messages).toEqual([
      `START RequestId: ${requestId} Version: $LATEST`,
      '{"level":"DEBUG","message":"one debug"}',
      '{"level":"INFO","message":"one info"}',
      '{"level":"WARN","message":"one warn"}',
      'one plain',
      expect.stringMatching(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${requestId}\\tINFO\\tone console { n: 1 }$`),
      ),
      'one half a line',
      `END RequestId: ${requestId}`,
      expect.stringMatching(
        new RegExp(
          `^REPORT RequestId: ${requestId}\\tDuration: \\d+\\.\\d\\d ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: \\d+\\.\\d\\d ms\\t$`,
        ),
      ),
    ]);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html (JSON system logs; JSON
  // lines are not encoded again), https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
  // (lines filtered by their "level", INFO without one; the system level INFO keeps "start" and "report").
  it('in the JSON format, filters the lines by level and writes platform.start and platform.report', async () => {
    // Act
    const result = await local.lambdas.invoke(fn('JsonFn'), { id: 'two' });

    // Assess
    expect(result).toEqual({ level: 'WARN', format: 'JSON' });
    const [{ messages }] = streamsOf('/test/json');
    const [start, warn, report, ...rest] = messages.map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(rest).toEqual([]);
    expect(start).toEqual({
      time: expect.any(String),
      type: 'platform.start',
      record: { requestId: expect.any(String), version: '$LATEST' },
    });
    const { requestId } = start.record as { requestId: string };
    expect(warn).toEqual({ level: 'WARN', message: 'two warn' });
    expect(report).toEqual({
      time: expect.any(String),
      type: 'platform.report',
      record: {
        requestId,
        metrics: {
          durationMs: expect.any(Number),
          billedDurationMs: expect.any(Number),
          memorySizeMB: 256,
          maxMemoryUsedMB: expect.any(Number),
          initDurationMs: expect.any(Number),
        },
        status: 'success',
      },
    });
  });

  it("logs a failed invocation's error as the runtime does, and reports its status", async () => {
    // Act
    const attempt = local.lambdas.invoke(fn('JsonFn'), { id: 'three', fail: true });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'TalkFailedError' });
    const lines = streamsOf('/test/json')[0].messages.map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    const requestId = (lines[0].record as { requestId: string }).requestId;
    expect(lines.slice(2)).toEqual([
      {
        timestamp: expect.any(String),
        level: 'ERROR',
        requestId,
        message: {
          errorType: 'TalkFailedError',
          errorMessage: 'three failed',
          // The error's own enumerable fields come along, as the runtime's replacer copies them.
          name: 'TalkFailedError',
          stackTrace: expect.arrayContaining([expect.stringContaining('TalkFailedError: three failed')]),
        },
      },
      expect.objectContaining({
        type: 'platform.report',
        record: expect.objectContaining({ requestId, status: 'error', errorType: 'TalkFailedError' }),
      }),
    ]);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html: /aws/lambda/<name>,
  // created on the first invocation; the default format is plain text.
  it('uses /aws/lambda/<function name> when the function names no group, with streams YYYY/MM/DD/[$LATEST]<id>', async () => {
    // Act
    await local.lambdas.invoke(fn('DefaultFn'), { id: 'four' });

    // Assess
    const [stream] = streamsOf(`/aws/lambda/${fn('DefaultFn').functionName}`);
    expect(stream.name).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(stream.messages[0]).toMatch(/^START RequestId: /);
  });

  it('leaves out START and REPORT at the system log level WARN', async () => {
    // Act
    await local.lambdas.invoke(fn('QuietFn'), { id: 'five' });

    // Assess
    const [stream] = streamsOf(`/aws/lambda/${fn('QuietFn').functionName}`);
    const messageOf = (line: string) =>
      line.startsWith('{') ? (JSON.parse(line) as { message: string }).message : line;
    expect(stream.messages.map(messageOf)).toEqual([
      'five info',
      'five warn',
      'five plain',
      'five console { n: 1 }',
      'five half a line',
    ]);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html: one invocation at a time per
  // environment; each environment has its stream and reports its init once.
  it('runs invocations that overlap in two environments with a stream each, and reuses a free one', async () => {
    // Act
    await Promise.all([
      local.lambdas.invoke(fn('TextFn'), { id: 'a', ms: 300 }),
      local.lambdas.invoke(fn('TextFn'), { id: 'b', ms: 300 }),
    ]);
    await local.lambdas.invoke(fn('TextFn'), { id: 'c' });

    // Assess
    const streams = streamsOf('/test/text');
    expect(streams).toHaveLength(2);
    const written = streams.map((stream) =>
      stream.messages.filter((line) => / plain$/.test(line)).map((line) => line.split(' ')[0]),
    );
    expect(written.flat().sort()).toEqual(['a', 'b', 'c']);
    expect(written.map((ids) => ids.length).sort()).toEqual([1, 2]);
    const reports = streams.flatMap((stream) => stream.messages.filter((line) => line.startsWith('REPORT')));
    expect(reports.filter((line) => line.includes('Init Duration'))).toHaveLength(2);
    expect(reports).toHaveLength(3);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html: after a timeout Lambda resets
  // the environment, so the next invocation starts a new one.
  it('says a timed-out invocation timed out and starts the next in a new environment', async () => {
    // Act
    const attempt = local.lambdas.invoke(fn('ShortFn'), { id: 'slow', ms: 1_500 });
    await expect(attempt).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    await local.lambdas.invoke(fn('ShortFn'), { id: 'quick' });
    // What the stopped handler still writes after its timeout is lost with its environment.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // Assess
    const streams = streamsOf('/test/short');
    expect(streams).toHaveLength(2);
    const [first] = streams.filter((stream) =>
      stream.messages.some((line) => line.includes('Task timed out')),
    );
    expect(first.messages.some((line) => line.startsWith('slow'))).toBe(false);
    expect(first.messages.slice(-3)).toEqual([
      expect.stringMatching(/^\d{4}-[\d-]+T[\d:.]+Z [0-9a-f-]{36} Task timed out after 1\.00 seconds$/),
      expect.stringMatching(/^END RequestId: /),
      expect.stringMatching(/^REPORT RequestId: /),
    ]);
  });
});
