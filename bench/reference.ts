import type { FigureContext } from './figure.js';
import type { ScenarioOptions, ScenarioReport } from './scenario.js';
import { runScenarioProcess } from './scenario-client.js';

/**
 * The reference release of figures 1 and 3: 4 environments x 5 services, migrations of
 * 10 minutes, deployments of 15 minutes, a 30 s step before and after, at the construct's
 * default poll interval and watch.
 */
export function referenceOptions(quick: boolean): ScenarioOptions {
  return {
    environments: 4,
    services: 5,
    // The check budgets its watch in sleeps; each look costs real time the scale does not
    // shrink, so the scale stays low enough that looks are short next to the sleeps.
    timeScale: quick ? 100 : 50,
    migrationSeconds: 600,
    stepSeconds: 30,
    deploySeconds: 900,
  };
}

/** A short text naming a scenario's workload, for the table. */
export function workloadOf(options: ScenarioOptions): string {
  const minutes = (seconds: number) => `${Math.round(seconds / 60)} min`;
  const parts = [`${options.environments} envs x ${options.services} services`];
  if (!options.tail) parts.push(`migrations ${minutes(options.migrationSeconds)}`);
  if (options.deploySeconds !== undefined) parts.push(`deploys ${minutes(options.deploySeconds)}`);
  parts.push(`time scale ${options.timeScale}`);
  return parts.join(', ');
}

const runs = new Map<string, Promise<ScenarioReport>>();

/** The reference release, run once per bench process and shared by the figures that read it. */
export function referenceRelease(context: FigureContext): Promise<ScenarioReport> {
  const options = referenceOptions(context.quick);
  const key = JSON.stringify(options);
  let run = runs.get(key);
  if (!run) {
    run = runScenarioProcess(context.repoRoot, options, context.log).then((report) => {
      if (report.status !== 'SUCCEEDED') {
        throw new Error(
          `the reference release ended ${report.status}, not SUCCEEDED: ${report.executionArn}`,
        );
      }
      return report;
    });
    runs.set(key, run);
  }
  return run;
}
