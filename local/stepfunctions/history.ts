/** One event of an execution's history, shaped as GetExecutionHistory returns it (timestamps in epoch ms here). */
export interface HistoryEvent {
  timestampMs: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: `${string}EventDetails`]: Record<string, unknown> | undefined;
}

/** The state types whose events AWS names after them (`TaskStateEntered`...). */
const STATE_TYPES = new Set(['Task', 'Choice', 'Pass', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map']);

const noTruncation = { truncated: false };

/** JSON text of a value, as the history carries inputs and outputs. */
export const jsonText = (value: unknown): string => JSON.stringify(value ?? null);

/** An event of aws-local-stepfunctions' `eventLogs`, as far as the history uses it. */
export interface EngineEvent {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  index?: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string; type: string; input?: unknown };
}

/**
 * The history of one execution. The engine's events and the Lambda invocations of its
 * Task states are appended in the order they happen; ids count from 1 and each event
 * points at the one before it, as Step Functions numbers them.
 */
export class ExecutionHistory {
  private readonly events: HistoryEvent[] = [];
  private closed = false;

  /** Every event, oldest first. */
  list(): readonly HistoryEvent[] {
    return this.events;
  }

  /** True once a terminal event was recorded; later events are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a closed history again: a redrive appends to it. */
  reopen(): void {
    this.closed = false;
  }

  /**
   * The state a redrive restarts from: the last top-level state (one of `topLevel`) that was
   * entered and never exited (the one that failed, or ran when the execution was stopped or
   * timed out), with the input it entered with.
   */
  unsuccessfulState(topLevel: ReadonlySet<string>): { name: string; input: string } | undefined {
    const open: Array<{ name: string; input: string }> = [];
    for (const event of this.events) {
      const entered = event.stateEnteredEventDetails;
      const exited = event.stateExitedEventDetails;
      if (event.type.endsWith('StateEntered') && typeof entered?.name === 'string') {
        open.push({ name: entered.name, input: String(entered.input ?? 'null') });
      } else if (event.type.endsWith('StateExited') && typeof exited?.name === 'string') {
        const index = open.map((state) => state.name).lastIndexOf(exited.name);
        if (index >= 0) open.splice(index, 1);
      }
    }
    return open.filter((state) => topLevel.has(state.name)).at(-1);
  }

  /** Appends an event; returns it, or undefined when the history is closed. */
  add(type: string, details?: Record<string, Record<string, unknown>>): HistoryEvent | undefined {
    if (this.closed) return undefined;
    const id = this.events.length + 1;
    const event: HistoryEvent = { timestampMs: Date.now(), type, id, previousEventId: id - 1, ...details };
    this.events.push(event);
    if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(type)) this.closed = true;
    return event;
  }

  /**
   * Appends what the engine reported. Lambda Task states report their own events
   * (`LambdaFunction*`), so the engine's failure, retry and catch events are not
   * history events of their own, as in AWS.
   */
  addEngineEvent(event: EngineEvent): void {
    const state = event.state;
    switch (event.type) {
      case 'ExecutionStarted':
        // Recorded by the execution itself, with the role, before the engine starts.
        return;
      case 'ExecutionSucceeded':
        this.add('ExecutionSucceeded', {
          executionSucceededEventDetails: { output: jsonText(event.output), outputDetails: noTruncation },
        });
        return;
      case 'ExecutionFailed':
        this.add('ExecutionFailed', {
          executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) },
        });
        return;
      case 'ExecutionTimeout':
        this.add('ExecutionTimedOut', {
          executionTimedOutEventDetails: {
            error: 'States.Timeout',
            cause: 'The execution ran past its TimeoutSeconds.',
          },
        });
        return;
      case 'ExecutionAborted':
        this.add('ExecutionAborted', { executionAbortedEventDetails: {} });
        return;
      case 'StateEntered': {
        if (!state || !STATE_TYPES.has(state.type)) return;
        this.add(`${state.type}StateEntered`, {
          stateEnteredEventDetails: {
            name: state.name,
            input: jsonText(state.input),
            inputDetails: noTruncation,
          },
        });
        if (state.type === 'Parallel') this.add('ParallelStateStarted');
        if (state.type === 'Map') this.add('MapStateStarted', { mapStateStartedEventDetails: {} });
        return;
      }
      case 'StateExited': {
        if (!state || !STATE_TYPES.has(state.type)) return;
        if (state.type === 'Parallel') this.add('ParallelStateSucceeded');
        if (state.type === 'Map') this.add('MapStateSucceeded');
        this.add(`${state.type}StateExited`, {
          stateExitedEventDetails: {
            name: state.name,
            output: jsonText(state.output),
            outputDetails: noTruncation,
          },
        });
        return;
      }
      case 'StateFailed':
        if (state?.type === 'Parallel')
          this.add('ParallelStateFailed', { parallelStateFailedEventDetails: {} });
        if (state?.type === 'Map') this.add('MapStateFailed', { mapStateFailedEventDetails: {} });
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const detailsKey = `${event.type[0].toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.add(event.type, { [detailsKey]: { name: event.parentState?.name, index: event.index } });
        return;
      }
      default:
        // StateRetried, StateCaught, ParallelBranch*: no history event of their own in AWS.
        return;
    }
  }
}

/** The engine gives causes as text or as an error; the history holds text. */
function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause ?? '');
}

/** An event as it goes on the wire: timestamps in epoch seconds; without inputs and outputs unless asked. */
export function historyEventOnWire(
  event: HistoryEvent,
  includeExecutionData: boolean,
): Record<string, unknown> {
  const { timestampMs, ...rest } = event;
  const wire: Record<string, unknown> = { timestamp: timestampMs / 1000, ...rest };
  if (!includeExecutionData) {
    for (const [key, value] of Object.entries(wire)) {
      if (key.endsWith('EventDetails') && value && typeof value === 'object') {
        const { input: _input, output: _output, ...kept } = value as Record<string, unknown>;
        wire[key] = kept;
      }
    }
  }
  return wire;
}
