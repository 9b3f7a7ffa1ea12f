import type { Figure, FigureContext, Measurement } from '../figure.js';
import { workloadOf } from '../reference.js';
import type { DeploymentReport, ScenarioOptions, ScenarioReport } from '../scenario.js';
import { runScenarioProcess } from '../scenario-client.js';

/** The release of figure 7: one wave of every environment, deployments as fast as the replacements run. */
export function skewOptions(quick: boolean, cutover: 'together' | 'independent'): ScenarioOptions {
  return {
    environments: quick ? 2 : 4,
    services: quick ? 2 : 5,
    timeScale: 20,
    migrationSeconds: 60,
    stepSeconds: 10,
    cutover,
  };
}

/**
 * The traffic-shift skew of a wave: the latest minus the earliest start of AllowTraffic (the
 * production listener moving to the replacement) across the release's deployments, in ms;
 * null when fewer than two moved traffic. Rollbacks and deployments of other releases are left out.
 */
export function trafficShiftSkewMs(deployments: readonly DeploymentReport[], release: string): number | null {
  const starts = deployments
    .filter((d) => d.description?.startsWith(`stepdeploy:${release}:`) && d.creator !== 'codeDeployRollback')
    .flatMap((d) => (d.allowTrafficStartMs === undefined ? [] : [d.allowTrafficStartMs]));
  if (starts.length < 2) return null;
  return Math.max(...starts) - Math.min(...starts);
}

/** The row figure 7 reads off one release. */
export function skewRow(report: ScenarioReport): Measurement {
  if (report.status !== 'SUCCEEDED') {
    throw new Error(`the release ended ${report.status}, not SUCCEEDED: ${report.executionArn}`);
  }
  const cutover = report.options.cutover ?? 'independent';
  const moved = report.deployments.filter((d) => d.allowTrafficStartMs !== undefined).length;
  return {
    figure: '7',
    name: `traffic-shift skew, cut-over ${cutover}`,
    workload: workloadOf(report.options),
    value: trafficShiftSkewMs(report.deployments, 'bench-release'),
    unit: 'ms',
    note:
      cutover === 'together'
        ? `latest minus earliest AllowTraffic of ${moved} deployments, continued at once from Ready (real time)`
        : `latest minus earliest AllowTraffic of ${moved} deployments, each as soon as its replacement ran (real time; waits scaled)`,
  };
}

/**
 * Figure 7: how far apart in time the groups of one wave move production traffic, when
 * stepdeploy cuts them over together (CodeDeploy's ready wait, then ContinueDeployment
 * READY_WAIT for all) and when each moves on its own.
 */
export const cutoverSkewFigure: Figure = {
  id: '7',
  slug: 'cutover-skew',
  title: 'Traffic-shift skew across the groups of a wave, together vs independent',
  async run(context: FigureContext): Promise<Measurement[]> {
    const rows: Measurement[] = [];
    for (const cutover of ['together', 'independent'] as const) {
      rows.push(
        skewRow(await runScenarioProcess(context.repoRoot, skewOptions(context.quick, cutover), context.log)),
      );
    }
    return rows;
  },
};
