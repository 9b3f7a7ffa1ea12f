import type { Figure, FigureContext, Measurement } from '../figure.js';
import { workloadOf } from '../reference.js';
import type { DeploymentReport, ScenarioOptions, ScenarioReport } from '../scenario.js';
import { runScenarioProcess } from '../scenario-client.js';
import { round } from '../stats.js';

/** Target of figure 2: simulated seconds from a failure to the last reaction requested. */
export const REACTION_TARGET_SECONDS = 10;

// Low enough that the handlers' real run time, which the scale multiplies, stays small
// next to the poll interval being measured.
const REACTION_TIME_SCALE = 10;

/** The migration scenario: 4 x 5 at the default settings, `e01`'s migration exits 1 after 2 minutes. */
export function migrationFailureOptions(): ScenarioOptions {
  return {
    environments: 4,
    services: 5,
    timeScale: REACTION_TIME_SCALE,
    migrationSeconds: 600,
    stepSeconds: 30,
    deploySeconds: 900,
    failMigration: { environment: 'e01', afterSeconds: 120 },
  };
}

/** The deployment scenario: 4 x 5 at the default settings, `e01/s01` fails 2 minutes into its deployment. */
export function deploymentFailureOptions(): ScenarioOptions {
  return {
    environments: 4,
    services: 5,
    timeScale: REACTION_TIME_SCALE,
    migrationSeconds: 30,
    stepSeconds: 30,
    deploySeconds: 900,
    failDeployment: { environment: 'e01', service: 's01', afterSeconds: 120 },
  };
}

/** A reaction: from the failure to the last request that answers it. */
export interface Reaction {
  failedAtMs: number;
  lastRequestAtMs: number;
  /** How many requests (StopTask, StopDeployment, rollback deployments) answered it. */
  requests: number;
  reactionMs: number;
}

/**
 * Migration failure to the last sibling StopTask: the failed task's stoppedAt, and the
 * stoppingAt (StopTask request time) of every other migration of the run.
 */
export function migrationReaction(report: ScenarioReport): Reaction {
  const failing = report.options.failMigration;
  if (!failing) throw new Error('the scenario injected no migration failure.');
  const migrations = report.tasks.filter((task) => task.step === 'migrate');
  const failed = migrations.find((task) => task.environment === failing.environment);
  if (!failed?.stoppedAtMs || failed.exitCode === 0) {
    throw new Error(
      `the migration of ${failing.environment} did not fail as injected (exit ${failed?.exitCode}).`,
    );
  }
  const siblings = migrations.filter((task) => task !== failed);
  const unstopped = siblings.filter((task) => task.stoppingAtMs === undefined || task.exitCode === 0);
  if (siblings.length === 0 || unstopped.length > 0) {
    throw new Error(
      `not every sibling migration was stopped: ${unstopped.map((task) => task.environment).join(', ') || 'no siblings'}.`,
    );
  }
  const lastRequestAtMs = Math.max(...siblings.map((task) => task.stoppingAtMs as number));
  return {
    failedAtMs: failed.stoppedAtMs,
    lastRequestAtMs,
    requests: siblings.length,
    reactionMs: lastRequestAtMs - failed.stoppedAtMs,
  };
}

const isRollback = (d: DeploymentReport) =>
  d.creator === 'codeDeployRollback' || /:rollback\b/.test(d.description ?? '');

/**
 * Deployment failure to the last rollback request: the failed deployment's completeTime,
 * and for every other deployment of the release, the request that rolls it back: its
 * StopDeployment (completeTime of a Stopped deployment) or, when it had succeeded, the
 * creation of the deployment that redeploys the previous revision.
 */
export function deploymentReaction(report: ScenarioReport): Reaction {
  const failing = report.options.failDeployment;
  if (!failing) throw new Error('the scenario injected no deployment failure.');
  const released = report.deployments.filter((d) => !isRollback(d));
  const failed = released.find((d) => d.environment === failing.environment && d.service === failing.service);
  if (!failed?.completeTimeMs || failed.status !== 'Failed') {
    throw new Error(
      `the deployment of ${failing.environment}/${failing.service} did not fail as injected (${failed?.status}).`,
    );
  }
  const requestTimes: number[] = [];
  const missing: string[] = [];
  for (const deployment of released) {
    if (deployment === failed) continue;
    const where = `${deployment.environment}/${deployment.service}`;
    if (deployment.status === 'Stopped' && deployment.completeTimeMs !== undefined) {
      requestTimes.push(deployment.completeTimeMs);
      continue;
    }
    const redeploy = report.deployments.find(
      (d) =>
        d !== deployment &&
        isRollback(d) &&
        d.environment === deployment.environment &&
        d.service === deployment.service &&
        (d.createTimeMs ?? 0) >= (deployment.createTimeMs ?? 0),
    );
    if (redeploy?.createTimeMs !== undefined) requestTimes.push(redeploy.createTimeMs);
    else missing.push(`${where} (${deployment.status})`);
  }
  if (requestTimes.length === 0 || missing.length > 0) {
    throw new Error(`not every deployment was rolled back: ${missing.join(', ') || 'no other deployments'}.`);
  }
  const lastRequestAtMs = Math.max(...requestTimes);
  return {
    failedAtMs: failed.completeTimeMs,
    lastRequestAtMs,
    requests: requestTimes.length,
    reactionMs: lastRequestAtMs - failed.completeTimeMs,
  };
}

function reactionRow(name: string, report: ScenarioReport, reaction: Reaction, what: string): Measurement {
  const scale = report.options.timeScale;
  return {
    figure: '2',
    name,
    workload: `${workloadOf(report.options)}, default poll 5 s / watch 10 min`,
    value: round((reaction.reactionMs * scale) / 1000, 1),
    unit: 's',
    target: { max: REACTION_TARGET_SECONDS },
    note: `${reaction.requests} ${what} requested within ${round(reaction.reactionMs)} ms real after the failure (x${scale} = simulated)`,
  };
}

/** Figure 2: failure to reaction, for a failed migration and for a failed deployment. */
export const reactionFigure: Figure = {
  id: '2',
  slug: 'reaction',
  title: 'Failure to reaction (sibling StopTask, rollbacks)',
  async run(context: FigureContext): Promise<Measurement[]> {
    const migration = await runScenarioProcess(context.repoRoot, migrationFailureOptions(), context.log);
    const rows = [
      reactionRow(
        'migration exit -> last sibling StopTask',
        migration,
        migrationReaction(migration),
        'StopTasks',
      ),
    ];
    const deployment = await runScenarioProcess(context.repoRoot, deploymentFailureOptions(), context.log);
    rows.push(
      reactionRow(
        'deploy failure -> last rollback request',
        deployment,
        deploymentReaction(deployment),
        'rollbacks',
      ),
    );
    return rows;
  },
};
