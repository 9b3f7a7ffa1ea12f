import { failureOf, inPlace } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import {
  ACTIVE_STATUSES,
  createEcsDeployment,
  type DeploymentDeps,
  endedWaitIds,
  type GroupSurvey,
  listDeploymentIds,
  type PlannedService,
  plannedServices,
  refuseForeignDeployments,
  surveyDeploymentGroups,
} from '../shared/deployments.js';
import {
  DeploymentFailedError,
  ForeignDeploymentError,
  PreviousDeploymentFinishingError,
  ValidationError,
} from '../shared/errors.js';
import { startWatch, type Watch } from '../shared/lambda-context.js';
import { rejectionSummary } from '../shared/rejections.js';
import { deploymentIds } from '../shared/revisions.js';
import type { PlanAndDeploy } from '../shared/schemas.js';
import type { DeploymentRef, DeployState } from '../shared/types.js';
import { plannedWaves } from '../shared/waves.js';

/** CodeDeploy's answer to CreateDeployment while the group has an active deployment. */
const LIMIT_EXCEEDED = 'DeploymentLimitExceededException';

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
 * `DeploymentFailedError` for a later one (the waves released so far are rolled back).
 * An earlier release's deployment whose termination wait Plan ended is no refusal: CodeDeploy
 * is terminating its original tasks, and its group takes the new deployment once that
 * finished. While it has not, CreateDeployment answers `DeploymentLimitExceededException` and
 * the group is tried again every `pollSeconds` while `watch` allows (the invocation's time,
 * the configured watch without one); past that, `PreviousDeploymentFinishingError` has the
 * state machine retry (the deployments created by then are adopted). If a create fails
 * otherwise, `DeploymentFailedError` lets the state machine roll back those that exist. The
 * state keeps the deployments of the earlier waves.
 */
export async function startDeployments(
  deps: DeploymentDeps,
  run: PlanAndDeploy,
  watch: Watch = startWatch(deps.config, deps.clock),
): Promise<DeployState> {
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
  const ended = endedWaitIds(plan);
  // Plan refused these already; one may have been started since, by hand or by CodeDeploy.
  const surveys = await surveyDeploymentGroups(
    deps.clients,
    plan.release,
    planned,
    new Date(plan.startedAt),
  ).catch((error: unknown) => {
    throw failureOf(error, 'StartDeployments', 'no deployment was created yet');
  });
  try {
    refuseForeignDeployments(
      plan.release,
      surveys,
      index === 0
        ? 'started no deployment (its pre-deploy steps and migrations, if any, already ran)'
        : `started no deployment of ${waveName}`,
      ended,
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
      const deploymentId = await inPlace(`${ref.environment}/${ref.service}`, () =>
        createWhenFree(deps, s, ended, watch),
      );
      return { ...ref, deploymentId };
    }),
  );

  const deployments = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const started = () =>
    listSome(deployments.map((d) => `${d.environment}/${d.service} ${d.deploymentId}`)) || 'none';
  const where = (s: GroupSurvey<PlannedService>) =>
    `${s.group.service.application}/${s.group.service.deploymentGroup} (${s.group.environment.name}/${s.group.service.name})`;
  const isFinishing = (r: PromiseSettledResult<DeploymentRef>) =>
    r.status === 'rejected' && r.reason instanceof PreviousDeploymentFinishingError;
  // A group still finishing an earlier release's deployment is no failure: it is retried below.
  const failed = rejectionSummary(
    results.map((r) => (isFinishing(r) ? { status: 'fulfilled' as const, value: undefined } : r)),
    surveys,
    where,
  );
  if (failed) {
    // Throttling says nothing of the groups: the retry adopts what exists and creates the rest.
    if (failed.allTransient) {
      const all = failed.count > 1 ? `all that failed: ${failed.what}; ` : '';
      throw failureOf(failed.cause, 'StartDeployments', `${all}already created: ${started()}`);
    }
    throw new DeploymentFailedError(
      `Release ${plan.release} could not create every deployment of ${waveName}: ${failed.what}. Deployments that exist (${started()}) are rolled back; fix the cause and start the release again.`,
      { cause: failed.cause },
    );
  }
  const waiting = surveys.filter((_, index) => isFinishing(results[index]));
  if (waiting.length > 0) {
    throw new PreviousDeploymentFinishingError(
      `Release ${plan.release}: ${waiting.map(where).join(', ')} still finish an earlier release's deployment ` +
        'whose termination wait Plan ended (CodeDeploy terminates its original tasks, which takes their stop timeout). ' +
        `Created so far: ${started()}; the retry adopts them and creates the rest once the groups are free.`,
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

/**
 * Creates the group's deployment, waiting while CodeDeploy refuses it only because an earlier
 * release's deployment in `ended` is still active on the group; any other refusal is thrown.
 */
async function createWhenFree(
  deps: DeploymentDeps,
  s: GroupSurvey<PlannedService>,
  ended: ReadonlySet<string>,
  watch: Watch,
): Promise<string> {
  const codedeploy = deps.clients.codedeploy(s.group.environment.region);
  const pollMs = deps.config.pollSeconds * 1000;
  for (;;) {
    try {
      return await createEcsDeployment(codedeploy, s.group.service, s.group.revisions.next, s.marker);
    } catch (error) {
      if (!(error instanceof Error) || error.name !== LIMIT_EXCEEDED) throw error;
      const active = await listDeploymentIds(codedeploy, {
        application: s.group.service.application,
        deploymentGroup: s.group.service.deploymentGroup,
        statuses: ACTIVE_STATUSES,
      });
      // Someone else took the group meanwhile: refused as any foreign deployment is.
      if (active.some((id) => !ended.has(id))) throw error;
      if (!watch.allows(pollMs)) {
        throw new PreviousDeploymentFinishingError(
          `${s.group.environment.name}/${s.group.service.name}: deployment ${active.join(', ')} is still terminating its original tasks.`,
        );
      }
      await deps.clock.sleep(pollMs);
    }
  }
}
