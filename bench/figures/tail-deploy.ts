import { AWSLOGS_DEFAULT_INTERVAL_MS } from '../../local/logs/awslogs-driver.js';
import type { Figure, FigureContext, Measurement } from '../figure.js';
import type { ScenarioOptions, ScenarioReport } from '../scenario.js';
import { runScenarioProcess } from '../scenario-client.js';
import { round } from '../stats.js';
import { analyzeTail, callRates } from '../tail-analysis.js';

/**
 * Targets of figure 4. The latency targets are tail-deploy's own, from CloudWatch Logs'
 * ingestion to the printed line; from the container's write the awslogs driver's batching
 * comes on top (up to its interval, at the bench's time scale), and is reported beside.
 */
export const TAIL_TARGETS = {
  latencyP50Ms: 1500,
  latencyP95Ms: 3000,
  /** Half the GetLogEvents quota of 25 calls per second, sustained. */
  getLogEventsPerSecond: 12.5,
  /** The quota itself: no one second may exceed it. */
  getLogEventsQuota: 25,
} as const;

/** 20 migrations writing 2,000 numbered lines each (200 lines/s), followed by `tail-deploy --json`. */
export function tailOptions(quick: boolean): ScenarioOptions {
  return {
    environments: quick ? 5 : 20,
    services: 1,
    timeScale: 10,
    migrationSeconds: 0,
    // A minute (6 s real) of pre-deploy step: tail-deploy has attached before the lines come.
    stepSeconds: 60,
    tail: { lines: quick ? 500 : 2000, linesPerSecond: 200 },
  };
}

/** The rows of figure 4 from one followed run. */
export function tailRows(report: ScenarioReport): Measurement[] {
  const { tail, options } = report;
  if (!tail || !options.tail) throw new Error('the scenario was not followed by tail-deploy.');
  if (tail.exitCode !== 0) {
    throw new Error(
      `tail-deploy exited ${tail.exitCode} (run ${report.status}): ${tail.stderr.trim().slice(-500)}`,
    );
  }
  const streams = options.environments;
  const figures = analyzeTail(tail.lines, streams, options.tail.lines);
  const rates = callRates(tail.getLogEventsAtMs);
  const workload = `${streams} streams x ${options.tail.lines} lines at ${options.tail.linesPerSecond} lines/s each`;
  const batchMs = (options.awslogsIntervalMs ?? AWSLOGS_DEFAULT_INTERVAL_MS) / options.timeScale;
  const batching = `awslogs batches every ${round(batchMs, 0)} ms (${(options.awslogsIntervalMs ?? AWSLOGS_DEFAULT_INTERVAL_MS) / 1000} s at time scale ${options.timeScale})`;
  return [
    {
      figure: '4',
      name: 'line latency from ingestion p50',
      workload,
      value: round(figures.ingestionLatencyP50Ms, 0),
      unit: 'ms',
      target: { max: TAIL_TARGETS.latencyP50Ms },
    },
    {
      figure: '4',
      name: 'line latency from ingestion p95',
      workload,
      value: round(figures.ingestionLatencyP95Ms, 0),
      unit: 'ms',
      target: { max: TAIL_TARGETS.latencyP95Ms },
      note: `max ${round(figures.ingestionLatencyMaxMs, 0)} ms`,
    },
    {
      figure: '4',
      name: 'line latency from write p50',
      workload,
      value: round(figures.latencyP50Ms, 0),
      unit: 'ms',
      target: { max: TAIL_TARGETS.latencyP50Ms + batchMs },
      note: `target: tail-deploy's plus the batch interval; ${batching}`,
    },
    {
      figure: '4',
      name: 'line latency from write p95',
      workload,
      value: round(figures.latencyP95Ms, 0),
      unit: 'ms',
      target: { max: TAIL_TARGETS.latencyP95Ms + batchMs },
      note: `max ${round(figures.latencyMaxMs, 0)} ms; ${figures.printed} of ${figures.expected} lines printed`,
    },
    { figure: '4', name: 'lines lost', workload, value: figures.lost, unit: 'lines', target: { max: 0 } },
    {
      figure: '4',
      name: 'lines duplicated',
      workload,
      value: figures.duplicated,
      unit: 'lines',
      target: { max: 0 },
    },
    {
      figure: '4',
      name: 'GetLogEvents calls/s (average)',
      workload,
      value: round(rates.averagePerSecond, 1),
      unit: 'calls/s',
      target: { max: TAIL_TARGETS.getLogEventsPerSecond },
      note: `${tail.getLogEventsAtMs.length} calls`,
    },
    {
      figure: '4',
      name: 'GetLogEvents calls/s (busiest 1 s)',
      workload,
      value: rates.peakPerSecond,
      unit: 'calls/s',
      target: { max: TAIL_TARGETS.getLogEventsQuota },
      note: 'target: the quota (25/s); the limiter sustains half of it and allows a burst of a quarter of that',
    },
  ];
}

/** Figure 4: tail-deploy's line latency, completeness and GetLogEvents rate on 20 busy streams. */
export const tailDeployFigure: Figure = {
  id: '4',
  slug: 'tail-deploy',
  title: 'tail-deploy line latency, lines lost/duplicated, GetLogEvents rate',
  async run(context: FigureContext): Promise<Measurement[]> {
    return tailRows(await runScenarioProcess(context.repoRoot, tailOptions(context.quick), context.log));
  },
};
