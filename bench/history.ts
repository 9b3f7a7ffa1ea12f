import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** What figure 1 reads off one execution history. */
export interface HistoryFigures {
  /** State transitions, as Step Functions bills them: one per state entered. */
  transitions: number;
  /** Every event of the history (the AWS limit is 25,000). */
  events: number;
  /** Largest input, output or parameters payload of any event, in bytes (the AWS limit is 256 KB). */
  largestPayloadBytes: number;
  /** Where that payload was: event type and state name when the event names one. */
  largestPayloadAt: string;
  /** Bytes of the largest payload's top-level fields, largest first (empty when it is not a JSON object). */
  largestPayloadParts: Array<[field: string, bytes: number]>;
  /** States entered, by name, most entered first: where the transitions go. */
  enteredByState: Array<[state: string, count: number]>;
  /** The long-poll checks: how often each was called and the time its loop spanned. */
  checkLoops: CheckLoop[];
}

/** One long-poll check loop of a history (`Check...` or `Await...` and the Choice after it). */
export interface CheckLoop {
  state: string;
  /** Invocations of the check. */
  rounds: number;
  /** From the first time the check was entered to the last time it was left (ms, the history's clock). */
  spanMs: number;
  /** Events one round writes: the check's task events and the Choice after it. */
  eventsPerRound: number;
}

function partsOf(payload: string): Array<[string, number]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
  return Object.entries(parsed)
    .map(([field, value]): [string, number] => [field, Buffer.byteLength(JSON.stringify(value), 'utf8')])
    .sort((a, b) => b[1] - a[1]);
}

const isCheck = (name: string) => /^(Check|Await)/.test(name);

function checkLoopsOf(events: readonly HistoryEvent[]): CheckLoop[] {
  const loops = new Map<
    string,
    { rounds: number; firstMs: number; lastMs: number; eventsPerRound: number }
  >();
  for (const [index, event] of events.entries()) {
    const at = event.timestamp ? new Date(event.timestamp).getTime() : 0;
    const entered = event.type === 'TaskStateEntered' ? event.stateEnteredEventDetails?.name : undefined;
    if (entered && isCheck(entered)) {
      const loop = loops.get(entered);
      if (loop) loop.rounds += 1;
      else {
        // A round runs from the check's entry to the end of the Choice that follows it.
        const choiceExit = events.findIndex((e, i) => i > index && e.type === 'ChoiceStateExited');
        const eventsPerRound = choiceExit < 0 ? events.length - index : choiceExit - index + 1;
        loops.set(entered, { rounds: 1, firstMs: at, lastMs: at, eventsPerRound });
      }
    }
    const exited = event.type === 'TaskStateExited' ? event.stateExitedEventDetails?.name : undefined;
    const loop = exited ? loops.get(exited) : undefined;
    if (loop) loop.lastMs = at;
  }
  return [...loops].map(([state, loop]) => ({
    state,
    rounds: loop.rounds,
    spanMs: loop.lastMs - loop.firstMs,
    eventsPerRound: loop.eventsPerRound,
  }));
}

/**
 * The transitions and events a history would have had at real time. On the local AWS a
 * check's watch counts its sleeps, which the time scale shortens, but not its looks, which
 * it does not: at a high scale one invocation covers more simulated time than `watchSeconds`
 * and the loop needs fewer rounds. Each check loop that spanned `D` simulated seconds takes
 * `ceil(D / watchSeconds)` rounds in AWS; the rounds it lacks are added at the cost the
 * history shows per round (2 transitions: the check and its Choice).
 */
export function atRealTime(figures: HistoryFigures, timeScale: number, watchSeconds: number) {
  let addedRounds = 0;
  let addedEvents = 0;
  for (const loop of figures.checkLoops) {
    const simulatedSeconds = (loop.spanMs * timeScale) / 1000;
    const missing = Math.max(0, Math.ceil(simulatedSeconds / watchSeconds) - loop.rounds);
    addedRounds += missing;
    addedEvents += missing * loop.eventsPerRound;
  }
  return {
    transitions: figures.transitions + 2 * addedRounds,
    events: figures.events + addedEvents,
    addedRounds,
  };
}

const PAYLOAD_KEYS = ['input', 'output', 'parameters'] as const;

function payloadsOf(event: HistoryEvent): string[] {
  const payloads: string[] = [];
  for (const [key, details] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || typeof details !== 'object' || details === null) continue;
    for (const name of PAYLOAD_KEYS) {
      const value: unknown = (details as Record<string, unknown>)[name];
      if (typeof value === 'string') payloads.push(value);
    }
  }
  return payloads;
}

/** The transitions, event count and largest payload of a history, as AWS counts them. */
export function analyzeHistory(events: readonly HistoryEvent[]): HistoryFigures {
  const entered = new Map<string, number>();
  let largestPayloadBytes = 0;
  let largestPayloadAt = '-';
  let largestPayload = '';
  // Exit events carry the state name; entered events too. Remember the last name seen so a
  // Lambda event (which carries none) is attributed to the state it runs in.
  let currentState = '';
  for (const event of events) {
    const type = event.type ?? '';
    const name = event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
    if (name) currentState = name;
    if (type.endsWith('StateEntered')) {
      const state = event.stateEnteredEventDetails?.name ?? '?';
      entered.set(state, (entered.get(state) ?? 0) + 1);
    }
    for (const payload of payloadsOf(event)) {
      const bytes = Buffer.byteLength(payload, 'utf8');
      if (bytes > largestPayloadBytes) {
        largestPayloadBytes = bytes;
        largestPayload = payload;
        largestPayloadAt = currentState ? `${type} of ${currentState}` : type;
      }
    }
  }
  const enteredByState = [...entered.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    transitions: enteredByState.reduce((sum, [, count]) => sum + count, 0),
    events: events.length,
    largestPayloadBytes,
    largestPayloadAt,
    largestPayloadParts: partsOf(largestPayload),
    enteredByState,
    checkLoops: checkLoopsOf(events),
  };
}

/** The whole history of an execution, every page. */
export async function readHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: true,
        nextToken,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}
