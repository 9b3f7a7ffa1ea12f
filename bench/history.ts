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
  /** States entered, by name, most entered first: where the transitions go. */
  enteredByState: Array<[state: string, count: number]>;
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
    enteredByState,
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
