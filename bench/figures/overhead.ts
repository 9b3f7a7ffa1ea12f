import type { Figure, FigureContext, Measurement } from '../figure.js';
import { referenceOptions, referenceRelease, workloadOf } from '../reference.js';
import type { ScenarioReport } from '../scenario.js';
import { runScenarioProcess } from '../scenario-client.js';
import { round } from '../stats.js';

/** Target of figure 3: orchestration overhead in percent of the release's wall time. */
export const OVERHEAD_TARGET_PERCENT = 3;

/** The critical path of a release's work and what the orchestration added to it. */
export interface Overhead {
  wallMs: number;
  /** Longest pre-deploy step + longest migration + longest deployment + longest post-deploy step. */
  criticalPathMs: number;
  /** Per phase, the longest piece of work. */
  phasesMs: Record<string, number>;
  overheadMs: number;
  overheadPercent: number;
}

const longest = (values: number[]) => (values.length === 0 ? 0 : Math.max(...values));

/**
 * Overhead of a release: its wall time (execution start to stop) minus the critical path of
 * the work it waits for. A task's work is ECS's createdAt to stoppedAt; a deployment's is
 * its createTime to the moment its traffic could move (the bench's approval), after which
 * the run only waits for the termination wait it does not need.
 */
export function overheadOf(report: ScenarioReport): Overhead {
  const phasesMs: Record<string, number> = {};
  const taskPhase = (step: string) => (step === 'migrate' ? 'migrate' : step);
  for (const task of report.tasks) {
    if (task.createdAtMs === undefined || task.stoppedAtMs === undefined) {
      throw new Error(`task ${task.taskArn} has no createdAt/stoppedAt: it did not run to its end.`);
    }
    const phase = taskPhase(task.step);
    phasesMs[phase] = Math.max(phasesMs[phase] ?? 0, task.stoppedAtMs - task.createdAtMs);
  }
  const released = report.deployments.filter(
    (d) => d.creator !== 'codeDeployRollback' && d.approvedAtMs !== undefined,
  );
  phasesMs.deploy = longest(released.map((d) => (d.approvedAtMs as number) - (d.createTimeMs as number)));
  const criticalPathMs = Object.values(phasesMs).reduce((sum, ms) => sum + ms, 0);
  const wallMs = report.stopMs - report.startMs;
  const overheadMs = wallMs - criticalPathMs;
  return { wallMs, criticalPathMs, phasesMs, overheadMs, overheadPercent: (overheadMs / wallMs) * 100 };
}

/** Figure 3: the reference release's wall time minus the critical path of its work, in percent. */
export const overheadFigure: Figure = {
  id: '3',
  slug: 'overhead',
  title: 'Orchestration overhead over the critical path of the work',
  async run(context: FigureContext): Promise<Measurement[]> {
    // The scale multiplies the real time of handlers and API calls as well as the waits:
    // the full run measures at a low scale, --quick reuses figure 1's release.
    const report = context.quick
      ? await referenceRelease(context)
      : await runScenarioProcess(
          context.repoRoot,
          { ...referenceOptions(false), timeScale: 10 },
          context.log,
        );
    if (report.status !== 'SUCCEEDED') {
      throw new Error(`the release ended ${report.status}, not SUCCEEDED: ${report.executionArn}`);
    }
    const overhead = overheadOf(report);
    const scale = report.options.timeScale;
    const simulated = (ms: number) => round((ms * scale) / 1000, 0);
    const phases = Object.entries(overhead.phasesMs)
      .map(([phase, ms]) => `${phase} ${simulated(ms)} s`)
      .join(' + ');
    return [
      {
        figure: '3',
        name: 'orchestration overhead',
        workload: workloadOf(report.options),
        value: round(overhead.overheadPercent, 2),
        unit: '%',
        target: { max: OVERHEAD_TARGET_PERCENT },
        note:
          `wall ${simulated(overhead.wallMs)} s simulated, critical path ${simulated(overhead.criticalPathMs)} s ` +
          `(${phases}), overhead ${simulated(overhead.overheadMs)} s simulated = ${round(overhead.overheadMs)} ms real; ` +
          'real-time costs (handlers, API calls) are multiplied by the scale too, so this overstates them',
      },
    ];
  },
};
