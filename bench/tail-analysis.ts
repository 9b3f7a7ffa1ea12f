import { percentile } from './stats.js';

/** One line of `tail-deploy --json` output and when the bench read it. */
export interface ReceivedLine {
  /** When the line arrived on tail-deploy's stdout (ms since the epoch). */
  receivedMs: number;
  /** The line as printed. */
  text: string;
  /** When CloudWatch Logs ingested the log line it prints (its event's `ingestionTime`), when known. */
  ingestedMs?: number;
}

/** What figure 4 says about one follow. */
export interface TailFigures {
  /** Log lines expected: streams x lines per stream. */
  expected: number;
  /** Distinct (stream, line) pairs printed. */
  printed: number;
  lost: number;
  duplicated: number;
  /** Printed minus written, from the line's own timestamp, in ms: the awslogs driver's batching included. */
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  /** Printed minus ingested by CloudWatch Logs, in ms: what tail-deploy itself takes. NaN when unknown. */
  ingestionLatencyP50Ms: number;
  ingestionLatencyP95Ms: number;
  ingestionLatencyMaxMs: number;
  /** Lines of the output that are not JSON (must be 0 with `--json`). */
  notJson: number;
}

const LINE = /^(\d+) (\d+)$/;

/**
 * Reads tail-deploy's `--json` output back: each `log` event whose message is a line of
 * `workloads/write-lines.mjs` (`<seq> <epoch ms>`) counts for its stream (the task ARN);
 * latency is the arrival time minus the timestamp the task wrote, and minus the time
 * CloudWatch Logs ingested the line where the bench learned it.
 */
export function analyzeTail(
  lines: readonly ReceivedLine[],
  streams: number,
  linesPerStream: number,
): TailFigures {
  const seen = new Map<string, Set<number>>();
  const latencies: number[] = [];
  const ingestionLatencies: number[] = [];
  let logLines = 0;
  let notJson = 0;
  for (const { receivedMs, text, ingestedMs } of lines) {
    if (text.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      notJson += 1;
      continue;
    }
    if (typeof event !== 'object' || event === null) continue;
    const { type, taskArn, message } = event as { type?: unknown; taskArn?: unknown; message?: unknown };
    if (type !== 'log' || typeof taskArn !== 'string' || typeof message !== 'string') continue;
    const match = LINE.exec(message.trim());
    if (!match) continue;
    logLines += 1;
    const stream = seen.get(taskArn) ?? new Set<number>();
    seen.set(taskArn, stream);
    stream.add(Number(match[1]));
    latencies.push(receivedMs - Number(match[2]));
    if (ingestedMs !== undefined) ingestionLatencies.push(receivedMs - ingestedMs);
  }
  const expected = streams * linesPerStream;
  let printed = 0;
  for (const stream of seen.values()) {
    for (const seq of stream) if (seq >= 0 && seq < linesPerStream) printed += 1;
  }
  return {
    expected,
    printed,
    lost: expected - printed,
    duplicated: logLines - [...seen.values()].reduce((sum, stream) => sum + stream.size, 0),
    latencyP50Ms: percentile(latencies, 50),
    latencyP95Ms: percentile(latencies, 95),
    latencyMaxMs: latencies.length > 0 ? Math.max(...latencies) : Number.NaN,
    ingestionLatencyP50Ms: percentile(ingestionLatencies, 50),
    ingestionLatencyP95Ms: percentile(ingestionLatencies, 95),
    ingestionLatencyMaxMs: ingestionLatencies.length > 0 ? Math.max(...ingestionLatencies) : Number.NaN,
    notJson,
  };
}

/** Calls per second: the average over the span of the calls, and the most in any 1 s window. */
export function callRates(timesMs: readonly number[]): { averagePerSecond: number; peakPerSecond: number } {
  if (timesMs.length === 0) return { averagePerSecond: 0, peakPerSecond: 0 };
  const sorted = [...timesMs].sort((a, b) => a - b);
  const spanSeconds = Math.max(1, (sorted[sorted.length - 1] - sorted[0]) / 1000);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= 1000) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return { averagePerSecond: sorted.length / spanSeconds, peakPerSecond: peak };
}

/**
 * The lines with the ingestion time of the log event each prints: `ingested` maps
 * `<task id> <seq>` (a line of `workloads/write-lines.mjs` in that task's stream) to it.
 */
export function withIngestionTimes(
  lines: readonly ReceivedLine[],
  ingested: ReadonlyMap<string, number>,
): ReceivedLine[] {
  return lines.map((line) => {
    let event: unknown;
    try {
      event = JSON.parse(line.text);
    } catch {
      return line;
    }
    const { type, taskArn, message } = (event ?? {}) as {
      type?: unknown;
      taskArn?: unknown;
      message?: unknown;
    };
    if (type !== 'log' || typeof taskArn !== 'string' || typeof message !== 'string') return line;
    const match = LINE.exec(message.trim());
    const ingestedMs = match ? ingested.get(`${taskArn.split('/').pop()} ${match[1]}`) : undefined;
    return ingestedMs === undefined ? line : { ...line, ingestedMs };
  });
}
