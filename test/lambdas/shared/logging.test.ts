import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { loggedHandler, runOf } from '../../../lambdas/shared/logging.js';
import { captureLogLines } from './log-lines.js';

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:r1';
const context = (awsRequestId: string) => ({ awsRequestId, getRemainingTimeInMillis: () => 60_000 });

describe('loggedHandler', () => {
  let lines: () => Array<Record<string, unknown>>;

  beforeEach(() => {
    lines = captureLogLines();
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it("writes Lambda's JSON fields first, then the verb, release and execution, then the line's own", async () => {
    // Prepare
    const handler = loggedHandler('check-tasks', async (_event, log) => {
      log.warn('eu/migrate: exit code 1', { environment: 'eu', exitCode: 1 });
      log.done('migrate: FAILED', { status: 'FAILED' }, 'warn');
      return 'result';
    });

    // Act
    const result = await handler({ plan: { release: 'r1' }, executionArn: EXECUTION }, context('req-1'));

    // Assess
    expect(result).toBe('result');
    const [decision, done] = lines();
    expect(Object.keys(decision)).toEqual([
      'timestamp',
      'level',
      'requestId',
      'message',
      'verb',
      'release',
      'execution',
      'environment',
      'exitCode',
    ]);
    expect(decision).toMatchObject({
      level: 'WARN',
      requestId: 'req-1',
      message: 'eu/migrate: exit code 1',
      verb: 'check-tasks',
      release: 'r1',
      execution: EXECUTION,
    });
    expect(new Date(String(decision.timestamp)).toISOString()).toBe(decision.timestamp);
    expect(done).toMatchObject({ level: 'WARN', message: 'migrate: FAILED', status: 'FAILED' });
    expect(lines()).toHaveLength(2);
  });

  it('writes the ECS service a line is about as `service`, which Powertools reserves for itself', async () => {
    // Act
    await loggedHandler('start-deployments', async (_event, log) => {
      log.info('eu/web: deployment d-1', { environment: 'eu', service: 'web', deploymentId: 'd-1' });
    })({}, context('req-5'));

    // Assess
    const [line] = lines();
    expect(line).toMatchObject({ environment: 'eu', service: 'web', deploymentId: 'd-1' });
    expect(line).not.toHaveProperty('ecsService');
    expect(lines().filter((written) => written.level === 'WARN')).toEqual([]);
  });

  it('writes one line for an invocation that logged no conclusion', async () => {
    // Act
    await loggedHandler('announce', async () => 1)({}, context('req-2'));

    // Assess
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'announce done', requestId: 'req-2' }),
    ]);
  });

  it('logs an error once, with its name and cause, before it propagates', async () => {
    // Prepare
    const refusal = new ValidationError('input.release: required', { cause: new Error('from the schema') });
    const handler = loggedHandler('plan', async () => {
      throw refusal;
    });

    // Act
    const attempt = handler({ input: {}, executionArn: EXECUTION }, context('req-3'));

    // Assess
    await expect(attempt).rejects.toBe(refusal);
    const written = lines();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      level: 'ERROR',
      requestId: 'req-3',
      message: 'plan failed: ValidationError: input.release: required',
      execution: EXECUTION,
      error: {
        name: 'ValidationError',
        message: 'input.release: required',
        cause: { name: 'Error', message: 'from the schema' },
      },
    });
  });

  it.each([
    ['WARN', ['WARN']],
    ['INFO', ['INFO', 'WARN']],
    ['DEBUG', ['DEBUG', 'INFO', 'WARN']],
  ])("honours the function's log level %s", async (level, written) => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', level);
    const handler = loggedHandler('roll-back', async (_event, log) => {
      log.debug('looked at 4 deployments');
      log.info('us/web: stop d-1 (InProgress) with automatic rollback');
      log.done('rolling back 1 deployments: RUNNING', {}, 'warn');
    });

    // Act
    await handler({}, context('req-4'));

    // Assess
    expect(lines().map((line) => line.level)).toEqual(written);
  });

  it('keeps the fields of invocations that run at once apart', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = loggedHandler('cleanup', async (event, log) => {
      log.append({ note: (event as { note: string }).note });
      await gate;
      log.info('after the wait');
    });

    // Act
    const first = handler({ note: 'first', detail: { executionArn: `${EXECUTION}-a` } }, context('req-a'));
    const second = handler({ note: 'second', detail: { executionArn: `${EXECUTION}-b` } }, context('req-b'));
    release();
    await Promise.all([first, second]);

    // Assess
    const after = lines().filter((line) => line.message === 'after the wait');
    expect(after.map(({ requestId, execution, note }) => ({ requestId, execution, note }))).toEqual([
      { requestId: 'req-a', execution: `${EXECUTION}-a`, note: 'first' },
      { requestId: 'req-b', execution: `${EXECUTION}-b`, note: 'second' },
    ]);
  });
});

describe('runOf', () => {
  it.each([
    ['Plan', { input: { release: 'r1' }, executionArn: EXECUTION }, { release: 'r1', execution: EXECUTION }],
    [
      'a task phase',
      { plan: { release: 'r2' }, executionArn: EXECUTION },
      { release: 'r2', execution: EXECUTION },
    ],
    ['the whole state', { state: { release: 'r3', plan: {} } }, { release: 'r3' }],
    ['a state with its plan', { state: { plan: { release: 'r4' } } }, { release: 'r4' }],
    ['the cleanup rule', { detail: { executionArn: EXECUTION } }, { execution: EXECUTION }],
    ['a check', { state: { status: 'RUNNING' }, executionArn: EXECUTION }, { execution: EXECUTION }],
    ['nothing', 'not an object', {}],
  ])('finds the release and the execution of %s', (_what, event, expected) => {
    const found = runOf(event);
    expect(Object.fromEntries(Object.entries(found).filter(([, value]) => value !== undefined))).toEqual(
      expected,
    );
  });
});
