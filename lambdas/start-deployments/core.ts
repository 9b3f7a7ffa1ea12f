import {
  createEcsDeployment,
  type DeploymentDeps,
  plannedServices,
  refuseForeignDeployments,
  surveyDeploymentGroups,
} from '../shared/deployments.js';
import { DeploymentFailedError, ForeignDeploymentError, ValidationError } from '../shared/errors.js';
import { rejectionSummary } from '../shared/rejections.js';
import { deploymentIds } from '../shared/revisions.js';
import type { PlanAndDeploy } from '../shared/schemas.js';
import type { DeploymentRef, DeployState } from '../shared/types.js';
import { plannedWaves } from '../shared/waves.js';

/**
 * The index of the wave to deploy: the one the last bake named, or the first. A retry or a
 * redrive gets the same state, so it deploys the same wave again (and adopts what it made).
 */
export function nextWaveOf(run: Pick<PlanAndDeploy, 'bake'>): number {
  return run.bake?.nextWave ?? 0;
}

/**
 * Starts one blue/green deployment per (environment, service) of the next wave of the plan.
 * Every group of the wave is looked at before anything is created: a deployment of this
 * release is adopted, any other active deployment refuses the wave and nothing of it is
 * created: `ForeignDeploymentError` for the first wave (nothing to roll back),
 * `DeploymentFailedError` for a later one (the waves released so far are rolled back). The
 * rest are created at once; if one create fails, `DeploymentFailedError` lets the state
 * machine roll back those that exist. The state keeps the deployments of the earlier waves.
 */
export async function startDeployments(deps: DeploymentDeps, run: PlanAndDeploy): Promise<DeployState> {
  const { plan } = run;
  const waves = plannedWaves(plan);
  const index = nextWaveOf(run);
  const wave = waves[index];
  if (!wave) {
    throw new ValidationError(
      `bake.nextWave: wave ${index} does not exist; the plan has ${waves.length} wave(s). Start a new execution so Plan runs against the current configuration.`,
    );
  }
  const inWave = new Set(wave.environments);
  const planned = plannedServices(deps.config, plan).filter((p) => inWave.has(p.environment.name));
  const waveName = `wave ${index + 1} of ${waves.length} (${wave.environments.join(', ')})`;
  // Plan refused these already; one may have been started since, by hand or by CodeDeploy.
  const surveys = await surveyDeploymentGroups(deps.clients, plan.release, planned, new Date(plan.startedAt));
  try {
    refuseForeignDeployments(
      plan.release,
      surveys,
      index === 0
        ? 'started no deployment (its pre-deploy steps and migrations, if any, already ran)'
        : `started no deployment of ${waveName}`,
    );
  } catch (error) {
    if (index === 0 || !(error instanceof ForeignDeploymentError)) throw error;
    // Earlier waves are out: the run must roll them back rather than end as if nothing happened.
    throw new DeploymentFailedError(error.message, { cause: error });
  }

  const results = await Promise.allSettled(
    surveys.map(async (s): Promise<DeploymentRef & { createdAtMs?: number }> => {
      const ref = { environment: s.group.environment.name, service: s.group.service.name };
      if (s.ours?.deploymentId) {
        return { ...ref, deploymentId: s.ours.deploymentId, createdAtMs: s.ours.createTime?.getTime() };
      }
      const codedeploy = deps.clients.codedeploy(s.group.environment.region);
      const deploymentId = await createEcsDeployment(
        codedeploy,
        s.group.service,
        s.group.revisions.next,
        s.marker,
      );
      return { ...ref, deploymentId };
    }),
  );

  const deployments = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = rejectionSummary(
    results,
    surveys,
    (s) =>
      `${s.group.service.application}/${s.group.service.deploymentGroup} (${s.group.environment.name}/${s.group.service.name})`,
  );
  if (failed) {
    const started =
      deployments.map((d) => `${d.environment}/${d.service} ${d.deploymentId}`).join(', ') || 'none';
    throw new DeploymentFailedError(
      `Release ${plan.release} could not create every deployment of ${waveName}: ${failed.what}. Deployments that exist (${started}) are rolled back; fix the cause and start the release again.`,
      { cause: failed.cause },
    );
  }

  // An attempt that created some of them earlier began the wave then: alarms count from there.
  const startedAtMs = Math.min(
    deps.clock.nowMs(),
    ...deployments.flatMap((d) => (d.createdAtMs === undefined ? [] : [d.createdAtMs])),
  );
  const ids = deploymentIds(deployments.map(({ createdAtMs: _, ...ref }) => ref));
  return {
    deployments: { ...(run.deploy?.deployments ?? {}), ...ids },
    status: 'RUNNING',
    failures: [],
    wave: {
      index,
      of: waves.length,
      environments: [...wave.environments],
      cutover: wave.cutover,
      startedAt: new Date(startedAtMs).toISOString(),
    },
  };
}
