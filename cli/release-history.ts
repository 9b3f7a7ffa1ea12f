import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { chunk } from '../lambdas/shared/ecs-tasks.js';
import { parseJsonOrUndefined } from '../lambdas/shared/json.js';
import { PlanSchema } from '../lambdas/shared/schemas.js';
import { describeReadFailure, UnreadableRunError } from './errors.js';
import { interpret } from './history.js';
import { formatDuration, type OutputStream } from './render.js';

/** How a release ended, as the history tells it. */
export type ReleaseOutcome = 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'aborted' | 'timed-out';

/** One execution of the state machine: a release, or a rollback to an earlier release. */
export interface ReleaseRecord {
  /** The execution input's `release`; null when the input named none (Plan refused it). */
  release: string | null;
  /** Set for a rollback: the earlier release whose revisions it deployed again. */
  rollbackTo?: string;
  outcome: ReleaseOutcome;
  /** The execution's status, as Step Functions reports it. */
  status: string;
  executionArn: string;
  /** ISO time the execution started. */
  startedAt: string;
  /** ISO time it ended; absent while it runs. */
  stoppedAt?: string;
  /** From start to end; null while it runs. */
  durationMs: number | null;
  /** The environments it went to; null when it names none (every configured one). */
  environments: string[] | null;
  /** Container name to image, as the input gave them; empty for a rollback. */
  images: Record<string, string>;
  /**
   * For a release that succeeded: the rollback (its release name) that later took every service
   * back to a release older than this one. Absent when none did.
   */
  rolledBackBy?: string;
}

/** How many executions `releaseHistory` reads by default. */
export const HISTORY_DEFAULT_LIMIT = 20;
/** The most executions `releaseHistory` reads in one call. */
export const HISTORY_MAX_LIMIT = 1000;

/** ListExecutions returns at most 100 executions per page. */
const LIST_PAGE_MAX = 100;
/** DescribeExecution (and GetExecutionHistory) calls in flight at once. */
const CONCURRENCY = 10;
/** A failed run's announcement is among its last history events (Announce, the Choice, the Fail). */
const TAIL_EVENTS = 20;

/** Runs one read of the history; a failure becomes an `UnreadableRunError` naming the operation and the permission. */
async function read<T>(operation: string, arn: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const region = arn.split(':')[3] ?? 'unknown';
    throw new UnreadableRunError(describeReadFailure(operation, `states:${operation}`, arn, region, error), {
      cause: error,
    });
  }
}

/** What to read of the history. */
export interface ReleaseHistoryOptions {
  /**
   * How many executions to read, newest first (1 to `HISTORY_MAX_LIMIT`).
   * @default HISTORY_DEFAULT_LIMIT
   */
  readonly limit?: number;
}

/**
 * The releases of a state machine, newest started first, read from its executions: at most
 * `limit` of them, through ListExecutions (pages of up to 100, at most `ceil(limit / 100)`
 * calls), one DescribeExecution each, and for each FAILED one a GetExecutionHistory of its
 * last 20 events (whether it was rolled back is its announcement's outcome).
 *
 * ListExecutions is eventually consistent (an execution started a moment ago may be missing)
 * and lists running executions by their start and closed ones by their stop: the executions
 * are described (their status is then current) and sorted by their start here. A release that
 * succeeded is marked rolled back when a later rollback that succeeded went back to a release
 * started before it. A read that fails is an `UnreadableRunError` naming the operation and the
 * permission it needs.
 */
export async function releaseHistory(
  sfn: SFNClient,
  stateMachineArn: string,
  options: ReleaseHistoryOptions = {},
): Promise<ReleaseRecord[]> {
  const limit = options.limit ?? HISTORY_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT) {
    throw new RangeError(`limit is ${limit}; read 1 to ${HISTORY_MAX_LIMIT} executions.`);
  }
  const listed: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await read('ListExecutions', stateMachineArn, () =>
      sfn.send(
        new ListExecutionsCommand({
          stateMachineArn,
          maxResults: Math.min(LIST_PAGE_MAX, limit - listed.length),
          nextToken,
        }),
      ),
    );
    listed.push(...(page.executions ?? []).slice(0, limit - listed.length));
    nextToken = page.nextToken;
  } while (nextToken && listed.length < limit);

  const records: ReleaseRecord[] = [];
  for (const batch of chunk(listed, CONCURRENCY)) {
    records.push(...(await Promise.all(batch.map((item) => recordOf(sfn, item)))));
  }
  records.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  markRolledBack(records);
  return records;
}

async function recordOf(sfn: SFNClient, item: ExecutionListItem): Promise<ReleaseRecord> {
  const executionArn = item.executionArn as string;
  const execution: DescribeExecutionCommandOutput = await read('DescribeExecution', executionArn, () =>
    sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  const input = asRecord(parseJsonOrUndefined(execution.input));
  const output = asRecord(parseJsonOrUndefined(execution.output));
  const plan = PlanSchema.safeParse(output?.plan);
  const status = execution.status ?? item.status ?? 'UNKNOWN';
  const start = execution.startDate ?? item.startDate;
  const stop = execution.stopDate ?? item.stopDate;
  const rollbackTo = typeof input?.rollbackTo === 'string' ? input.rollbackTo : undefined;
  const environments = plan.success ? plan.data.environments : stringsOrNull(input?.environments);
  return {
    release: typeof input?.release === 'string' ? input.release : null,
    ...(rollbackTo ? { rollbackTo } : {}),
    outcome: await outcomeOf(sfn, executionArn, status),
    status,
    executionArn,
    startedAt: (start ?? new Date(0)).toISOString(),
    ...(stop ? { stoppedAt: stop.toISOString() } : {}),
    durationMs: start && stop ? stop.getTime() - start.getTime() : null,
    environments,
    images: imagesOf(input?.images),
  };
}

/** The outcome of an execution; a FAILED one was rolled back when its announcement says so. */
async function outcomeOf(sfn: SFNClient, executionArn: string, status: string): Promise<ReleaseOutcome> {
  switch (status) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'ABORTED':
      return 'aborted';
    case 'TIMED_OUT':
      return 'timed-out';
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return 'running';
    default: {
      const tail = await read('GetExecutionHistory', executionArn, () =>
        sfn.send(
          new GetExecutionHistoryCommand({
            executionArn,
            reverseOrder: true,
            maxResults: TAIL_EVENTS,
            includeExecutionData: true,
          }),
        ),
      );
      for (const event of tail.events ?? []) {
        const update = interpret(event);
        if (update?.kind === 'announcement') {
          return update.announcement.outcome === 'ROLLED_BACK' ? 'rolled-back' : 'failed';
        }
      }
      return 'failed';
    }
  }
}

/**
 * Marks each run that succeeded and that a later rollback undid: the first rollback that
 * succeeded after it, to a release started before it (or older than every record read).
 */
function markRolledBack(records: ReleaseRecord[]): void {
  const started = (record: ReleaseRecord) => Date.parse(record.startedAt);
  /** Start of the release a rollback went back to: its newest success before the rollback. */
  const targetStart = (rollback: ReleaseRecord) => {
    const target = records
      .filter(
        (record) =>
          record.release === rollback.rollbackTo &&
          !record.rollbackTo &&
          record.outcome === 'succeeded' &&
          started(record) < started(rollback),
      )
      .sort((a, b) => started(b) - started(a))[0];
    return target ? started(target) : Number.NEGATIVE_INFINITY;
  };
  const rollbacks = records
    .filter((record) => record.rollbackTo && record.outcome === 'succeeded')
    .sort((a, b) => started(a) - started(b));
  for (const record of records) {
    if (record.outcome !== 'succeeded') continue;
    const undoing = rollbacks.find(
      (rollback) => started(rollback) > started(record) && targetStart(rollback) < started(record),
    );
    if (undoing) record.rolledBackBy = undoing.release ?? undoing.executionArn;
  }
}

/**
 * The release `stepdeploy rollback` goes back to by default: what runs now is the newest
 * release that succeeded (for a rollback that succeeded, the release it went back to); the
 * target is the newest release before it that succeeded and was not rolled back. Undefined
 * when the records do not tell (no release succeeded, or what runs now is older than them).
 */
export function previousRelease(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  const started = (record: ReleaseRecord) => Date.parse(record.startedAt);
  const newestFirst = [...records].sort((a, b) => started(b) - started(a));
  const current = newestFirst.find((record) => record.outcome === 'succeeded');
  if (!current) return undefined;
  const running = current.rollbackTo
    ? newestFirst.find(
        (record) =>
          record.release === current.rollbackTo &&
          !record.rollbackTo &&
          record.outcome === 'succeeded' &&
          started(record) < started(current),
      )
    : current;
  if (!running) return undefined;
  return newestFirst.find(
    (record) =>
      record.outcome === 'succeeded' &&
      !record.rollbackTo &&
      !record.rolledBackBy &&
      record.release !== null &&
      record.release !== running.release &&
      started(record) < started(running),
  );
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringsOrNull(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : null;
}

function imagesOf(value: unknown): Record<string, string> {
  const record = asRecord(value);
  if (!record) return {};
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

const OUTCOME_TEXT: Record<ReleaseOutcome, string> = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  'rolled-back': 'rolled back',
  aborted: 'aborted',
  'timed-out': 'timed out',
};

/** `2026-11-26 08:01:02Z`. */
function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** The history as a table, newest first, one release a line. */
export function renderHistory(records: readonly ReleaseRecord[], out: OutputStream): void {
  const header = ['RELEASE', 'OUTCOME', 'STARTED', 'DURATION', 'ENVIRONMENTS', 'IMAGES', 'ROLLED BACK'];
  const rows = records.map((record) => [
    record.release ?? '(none)',
    record.rollbackTo
      ? `rollback to ${record.rollbackTo}: ${OUTCOME_TEXT[record.outcome]}`
      : OUTCOME_TEXT[record.outcome],
    shortTime(record.startedAt),
    record.durationMs === null ? '-' : formatDuration(record.durationMs),
    record.environments?.join(',') ?? 'all',
    record.rollbackTo
      ? `(${record.rollbackTo}'s)`
      : Object.entries(record.images)
          .map(([container, image]) => `${container}=${image}`)
          .join(' ') || '-',
    record.rolledBackBy ? `by ${record.rolledBackBy}` : '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  for (const row of [header, ...rows]) {
    out.write(
      `${row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  ')}\n`,
    );
  }
}
