import {
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { parseJsonOrUndefined } from '../lambdas/shared/json.js';
import {
  DeployStateSchema,
  PlanSchema,
  RollbackStateSchema,
  TaskPhaseStateSchema,
} from '../lambdas/shared/schemas.js';
import type {
  Announcement,
  DeployState,
  Plan,
  RollbackState,
  TaskPhaseState,
} from '../lambdas/shared/types.js';

/** How an execution ended, as Step Functions names it. */
export type ExecutionEnd = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

/** What one history event tells about the run. */
export type RunUpdate =
  | { kind: 'started'; time: Date; input: unknown }
  | { kind: 'state'; time: Date; name: string; stateType: string }
  | { kind: 'plan'; time: Date; plan: Plan }
  | { kind: 'tasks'; time: Date; state: TaskPhaseState }
  | { kind: 'deployments'; time: Date; state: DeployState }
  | { kind: 'rollbacks'; time: Date; state: RollbackState }
  | { kind: 'announcement'; time: Date; announcement: Announcement }
  | { kind: 'end'; time: Date; status: ExecutionEnd; error?: string; cause?: string };

const MAX_RESULTS = 1000;

/**
 * Reads an execution's history incrementally. Each `read()` returns only the events that
 * appeared since the previous one, in id order. GetExecutionHistory cannot start at an
 * event id, so the reader keeps the page token that led to the last page it read and
 * starts there next time (one call per poll however long the history), skipping the ids
 * it already returned.
 */
export class HistoryReader {
  private readonly sfn: SFNClient;
  private readonly executionArn: string;
  private lastId = 0;
  /** Token of the page holding the last event returned; undefined for the first page. */
  private resumeToken: string | undefined;

  constructor(sfn: SFNClient, executionArn: string) {
    this.sfn = sfn;
    this.executionArn = executionArn;
  }

  /** Id of the last event returned so far (0 before the first). */
  get lastEventId(): number {
    return this.lastId;
  }

  /** The events that appeared since the previous call. */
  async read(): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let token = this.resumeToken;
    for (;;) {
      let page: GetExecutionHistoryCommandOutput;
      try {
        page = await this.page(token);
      } catch (error) {
        // A page token lives 24 hours; past that, start over and skip what was seen.
        if (token !== undefined && error instanceof Error && error.name === 'InvalidToken') {
          this.resumeToken = undefined;
          token = undefined;
          continue;
        }
        throw error;
      }
      for (const event of page.events ?? []) {
        const id = event.id ?? 0;
        if (id <= this.lastId) continue;
        fresh.push(event);
        this.lastId = id;
      }
      if (!page.nextToken) break;
      // A full page: later events are on the next one, which becomes the resume point.
      token = page.nextToken;
      this.resumeToken = token;
    }
    return fresh;
  }

  private page(nextToken: string | undefined): Promise<GetExecutionHistoryCommandOutput> {
    return this.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: this.executionArn,
        maxResults: MAX_RESULTS,
        reverseOrder: false,
        includeExecutionData: true,
        nextToken,
      }),
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const OUTCOMES = new Set(['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);

/**
 * What a handler's result says, recognised by its shape (never by the state's name, which
 * the construct may change): the plan, a task phase, the deployments, the rollbacks or the
 * announcement.
 */
export function classifyOutput(value: unknown, time: Date): RunUpdate | undefined {
  if (!isRecord(value)) return undefined;
  // `lambda:invoke` without payloadResponseOnly wraps the result.
  if (isRecord(value.Payload) && 'StatusCode' in value) return classifyOutput(value.Payload, time);
  if ('runId' in value && 'services' in value && 'oneOff' in value) {
    const parsed = PlanSchema.safeParse(value);
    return parsed.success ? { kind: 'plan', time, plan: parsed.data } : undefined;
  }
  if ('tasks' in value && 'phase' in value) {
    const parsed = TaskPhaseStateSchema.safeParse(value);
    return parsed.success ? { kind: 'tasks', time, state: parsed.data } : undefined;
  }
  if ('deployments' in value) {
    const parsed = DeployStateSchema.safeParse(value);
    return parsed.success ? { kind: 'deployments', time, state: parsed.data } : undefined;
  }
  if ('rollbacks' in value) {
    const parsed = RollbackStateSchema.safeParse(value);
    return parsed.success ? { kind: 'rollbacks', time, state: parsed.data } : undefined;
  }
  if (
    typeof value.outcome === 'string' &&
    OUTCOMES.has(value.outcome) &&
    typeof value.detailType === 'string' &&
    typeof value.summary === 'string'
  ) {
    return { kind: 'announcement', time, announcement: value as unknown as Announcement };
  }
  return undefined;
}

function endOf(
  time: Date,
  status: ExecutionEnd,
  details: { error?: string; cause?: string } | undefined,
): RunUpdate {
  return { kind: 'end', time, status, error: details?.error, cause: details?.cause };
}

/** What one history event tells about the run; undefined for the events that tell nothing new. */
export function interpret(event: HistoryEvent): RunUpdate | undefined {
  const time = event.timestamp ?? new Date();
  const type = event.type ?? '';
  switch (type) {
    case 'ExecutionStarted':
      return {
        kind: 'started',
        time,
        input: parseJsonOrUndefined(event.executionStartedEventDetails?.input),
      };
    case 'LambdaFunctionSucceeded':
      return classifyOutput(parseJsonOrUndefined(event.lambdaFunctionSucceededEventDetails?.output), time);
    case 'TaskSucceeded':
      return classifyOutput(parseJsonOrUndefined(event.taskSucceededEventDetails?.output), time);
    case 'ExecutionSucceeded':
      return { kind: 'end', time, status: 'SUCCEEDED' };
    case 'ExecutionFailed':
      return endOf(time, 'FAILED', event.executionFailedEventDetails);
    case 'ExecutionAborted':
      return endOf(time, 'ABORTED', event.executionAbortedEventDetails);
    case 'ExecutionTimedOut':
      return endOf(time, 'TIMED_OUT', event.executionTimedOutEventDetails);
    default:
      if (type.endsWith('StateEntered')) {
        const name = event.stateEnteredEventDetails?.name;
        if (name) return { kind: 'state', time, name, stateType: type.slice(0, -'StateEntered'.length) };
      }
      return undefined;
  }
}
