import type { Figure, FigureContext, Measurement } from '../figure.js';
import { atRealTime } from '../history.js';
import { referenceRelease, workloadOf } from '../reference.js';
import type { ScenarioOptions, ScenarioReport } from '../scenario.js';
import { runScenarioProcess } from '../scenario-client.js';
import { round } from '../stats.js';

/** Target of figure 1: state transitions of the reference release. */
export const TRANSITIONS_TARGET = 150;
/** Target of figure 1 at 20 x 20 over 2 h: history events (AWS allows 25,000). */
export const EVENTS_TARGET = 2500;
/** Target of figure 1 at 20 x 20: the largest state payload in KB (AWS allows 256 KB). */
export const PAYLOAD_TARGET_KB = 32;
/** Lambda allows 4 KB of environment variables per function, names and values together. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** The large release of figure 1: 20 environments x 20 services, two hours of work. */
export function largeOptions(): ScenarioOptions {
  return {
    environments: 20,
    services: 20,
    timeScale: 50,
    migrationSeconds: 3600,
    stepSeconds: 30,
    deploySeconds: 3600,
  };
}

/** The rows figure 1 reads off one release. */
export function transitionRows(report: ScenarioReport, targets: 'reference' | 'large'): Measurement[] {
  if (report.status !== 'SUCCEEDED') {
    throw new Error(`the release ended ${report.status}, not SUCCEEDED: ${report.executionArn}`);
  }
  const workload = workloadOf(report.options);
  const large = targets === 'large';
  const { history } = report;
  const real = atRealTime(history, report.options.timeScale, report.watchSeconds);
  const compressed =
    real.addedRounds > 0
      ? `; measured ${history.transitions} transitions / ${history.events} events, plus ${real.addedRounds} check rounds the time scale compressed`
      : '';
  const loops = history.checkLoops.map((loop) => `${loop.state} ${loop.rounds}`).join(', ');
  return [
    {
      figure: '1',
      name: 'state transitions',
      workload,
      value: real.transitions,
      unit: 'count',
      target: large ? undefined : { max: TRANSITIONS_TARGET },
      note: `check rounds: ${loops}${compressed}`,
    },
    {
      figure: '1',
      name: 'history events',
      workload,
      value: real.events,
      unit: 'count',
      target: large ? { max: EVENTS_TARGET } : undefined,
    },
    {
      figure: '1',
      name: 'largest state payload',
      workload,
      value: round(history.largestPayloadBytes / 1024, 1),
      unit: 'KB',
      target: large ? { max: PAYLOAD_TARGET_KB } : undefined,
      note: `in ${history.largestPayloadAt}: ${history.largestPayloadParts
        .slice(0, 4)
        .map(([field, bytes]) => `${field} ${round(bytes / 1024, 1)} KB`)
        .join(', ')}`,
    },
    {
      figure: '1',
      name: 'handler environment variables',
      workload,
      value: report.configBytes,
      unit: 'bytes',
      target: { max: LAMBDA_ENVIRONMENT_LIMIT_BYTES },
      note:
        report.configBytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES
          ? 'over the 4 KB Lambda allows for the environment variables of a function: AWS would refuse to create it'
          : undefined,
    },
    {
      figure: '1',
      name: 'deploy configuration (JSON)',
      workload,
      value: report.deployConfigBytes,
      unit: 'bytes',
      note: 'the configuration the handlers read, with AWS-length subnet/SG ids (Lambda variables: 4 KB; SSM parameter: 4 KB, 8 KB advanced)',
    },
  ];
}

/**
 * Figure 1: state transitions, history events and the largest state payload of the
 * reference release, and of a 20 x 20 release over two hours (skipped with --quick).
 */
export const transitionsFigure: Figure = {
  id: '1',
  slug: 'transitions',
  title: 'State transitions, history events, largest state payload',
  async run(context: FigureContext): Promise<Measurement[]> {
    const rows = transitionRows(await referenceRelease(context), 'reference');
    if (!context.quick) {
      const large = await runScenarioProcess(context.repoRoot, largeOptions(), context.log, 1_800_000);
      rows.push(...transitionRows(large, 'large'));
    }
    return rows;
  },
};
