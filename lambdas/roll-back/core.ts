import { type DeploymentInfo, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { redeployable } from '../check-rollbacks/core.js';
import { failureOf, inCall, inPlace, isErrorNamed } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import {
  batchGetByRegion,
  batchGetDeployments,
  createEcsDeployment,
  type DeploymentDeps,
  decideRollback,
  findMarkedDeployments,
  MISSING,
  type PlannedService,
  plannedServices,
} from '../shared/deployments.js';
import { RollbackFailedError } from '../shared/errors.js';
import { deploymentMarker, rollbackMarker } from '../shared/markers.js';
import { rejectionSummary } from '../shared/rejections.js';
import { deploymentRefs } from '../shared/revisions.js';
import type { DeploymentRef, Plan, PlannedWave, RollbackRef, RollbackState } from '../shared/types.js';
import { plannedWaves, waveOf } from '../shared/waves.js';
import type { RollBackRun } from './schema.js';

/** A deployment of the run joined with its configuration and recorded revisions. */
interface RunDeployment {
  ref: DeploymentRef;
  planned: PlannedService;
}

function joinPlanned(planned: PlannedService[], ref: DeploymentRef): RunDeployment {
  const found = planned.find((p) => p.environment.name === ref.environment && p.service.name === ref.service);
  if (!found) {
    throw new RollbackFailedError(
      `Deployment ${ref.deploymentId} is recorded for ${ref.environment}/${ref.service}, which the plan does not deploy; roll it back by hand in the CodeDeploy console.`,
    );
  }
  return { ref, planned: found };
}

/**
 * The run's deployments found by their marker: on each deployment group of `planned`, the
 * newest deployment created since the plan started whose description is this release's
 * marker. Used for what StartDeployments made without returning (cancelled, or failed half-way).
 */
export async function findRunDeployments(
  deps: DeploymentDeps,
  plan: Plan,
  planned: readonly PlannedService[] = plannedServices(deps.config, plan),
): Promise<DeploymentRef[]> {
  const found = await Promise.all(
    planned.map(async ({ environment, service }) => {
      const [newest] = await findMarkedDeployments(
        deps.clients.codedeploy(environment.region),
        {
          application: service.application,
          deploymentGroup: service.deploymentGroup,
          createdAfter: new Date(plan.startedAt),
        },
        deploymentMarker(plan.release, environment.name, service.name),
      );
      return newest?.deploymentId
        ? [{ environment: environment.name, service: service.name, deploymentId: newest.deploymentId }]
        : [];
    }),
  );
  return found.flat();
}

/** Which deployments a rollback covers, and the environments of released waves it leaves alone. */
export interface RollbackScope {
  refs: DeploymentRef[];
  /** Environments of earlier waves that keep the release (`rollbackScope: 'wave'`). */
  kept: string[];
}

/**
 * The waves a rollback searches by marker for deployments the state does not hold: the wave a
 * failed StartDeployments was starting (the bake named it), or, with `laterWaves` (the cleanup,
 * which cannot tell how far the run got), every wave after the state's; every wave up to the
 * first when no deployment was recorded at all.
 */
export function wavesToSearch(run: RollBackRun, waveCount: number, laterWaves: boolean): number[] {
  const recorded = run.deploy ? waveOf(run.deploy).index : -1;
  const until = laterWaves ? waveCount - 1 : run.deploy ? (run.bake?.nextWave ?? recorded) : 0;
  const indexes: number[] = [];
  for (let index = recorded + 1; index <= Math.min(until, waveCount - 1); index += 1) indexes.push(index);
  return indexes;
}

/**
 * What a rollback covers. The wave in trouble is the latest one with a deployment of the run.
 * `all` (the default): every deployment of the run, of every wave released so far. `wave`: the
 * deployments of the wave in trouble; the earlier waves keep the release.
 */
export function rollbackScopeOf(
  scope: 'all' | 'wave',
  waves: readonly PlannedWave[],
  refs: readonly DeploymentRef[],
  recordedWave: number,
): RollbackScope {
  const waveOfEnvironment = new Map(
    waves.flatMap((wave, index) =>
      wave.environments.map((environment): [string, number] => [environment, index]),
    ),
  );
  const troubled = Math.max(recordedWave, ...refs.map((ref) => waveOfEnvironment.get(ref.environment) ?? 0));
  if (scope === 'all') return { refs: [...refs], kept: [] };
  return {
    refs: refs.filter((ref) => (waveOfEnvironment.get(ref.environment) ?? 0) === troubled),
    kept: waves.slice(0, Math.max(0, troubled)).flatMap((wave) => wave.environments),
  };
}

/**
 * Deploys the recorded previous revision on the group of `ref`, marked as this release's rollback;
 * an existing rollback deployment of this release is adopted, never duplicated. Returns its id.
 */
async function redeployPrevious(
  deps: DeploymentDeps,
  plan: Plan,
  { ref, planned }: RunDeployment,
): Promise<string> {
  const codedeploy = deps.clients.codedeploy(planned.environment.region);
  const marker = rollbackMarker(plan.release, ref.environment, ref.service);
  const findOurs = async () => {
    const [existing] = await findMarkedDeployments(
      codedeploy,
      {
        application: planned.service.application,
        deploymentGroup: planned.service.deploymentGroup,
        createdAfter: new Date(plan.startedAt),
      },
      marker,
    );
    return existing?.deploymentId;
  };
  const existing = await findOurs();
  if (existing) return existing;
  try {
    return await createEcsDeployment(codedeploy, planned.service, planned.revisions.previous, marker);
  } catch (error) {
    // Another cleanup of the same run (EventBridge delivers at least once) created it since
    // the look: CodeDeploy refuses a second active deployment on the group, and that one is ours to adopt.
    if (!isErrorNamed(error, 'DeploymentLimitExceededException')) throw error;
    const adopted = await findOurs();
    if (!adopted) throw error;
    return adopted;
  }
}

/** Where a rollback acts, as its errors name it: `us/web (deployment d-1)`. */
function placeOf(ref: DeploymentRef): string {
  return `${ref.environment}/${ref.service} (deployment ${ref.deploymentId})`;
}

/** Carries out one rollback decision; idempotent, so a retry or a second cleanup adds nothing. */
async function rollBackOne(
  deps: DeploymentDeps,
  plan: Plan,
  { ref, planned }: RunDeployment,
  info: DeploymentInfo | undefined,
): Promise<RollbackRef> {
  const codedeploy = deps.clients.codedeploy(planned.environment.region);
  if (!info) return { ...ref, action: 'none', status: MISSING };
  const action = decideRollback(info);
  const decided = { ...ref, deploymentStatus: info.status };
  switch (action) {
    case 'stop':
      try {
        await inCall('StopDeployment', ref.deploymentId, () =>
          codedeploy.send(
            new StopDeploymentCommand({ deploymentId: ref.deploymentId, autoRollbackEnabled: true }),
          ),
        );
        return { ...decided, action };
      } catch (error) {
        if (!isErrorNamed(error, 'DeploymentAlreadyCompletedException')) throw error;
        // It finished between the look and the stop: decide again from where it ended.
        const ended = (await batchGetDeployments(codedeploy, [ref.deploymentId])).get(ref.deploymentId);
        if (!ended || decideRollback(ended) === 'stop') throw error;
        return rollBackOne(deps, plan, { ref, planned }, ended);
      }
    case 'redeploy':
      return {
        ...decided,
        action,
        rollbackDeploymentId: await redeployPrevious(deps, plan, { ref, planned }),
      };
    case 'adopt':
      return { ...decided, action, rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId };
    case 'none':
      return { ...decided, action, status: info.status };
  }
}

/** How a rollback looks for deployments the state does not hold. */
export interface RollBackOptions {
  /** Search every wave after the recorded one (the cleanup cannot tell how far the run got). */
  searchLaterWaves?: boolean;
}

/**
 * Rolls back the run's deployments: the ones StartDeployments returned, and the ones found by
 * marker on the groups of a wave it was starting (or of every later wave, for the cleanup);
 * with `rollbackScope: 'wave'` only those of the wave in trouble, the waves released before it
 * kept. Each is stopped with auto-rollback while in flight (a Ready one never moved production
 * traffic), redeployed to the recorded previous revision once succeeded (an existing rollback
 * deployment of this release is adopted, never duplicated), or follows the rollback CodeDeploy
 * already made. Every rollback is attempted; one that could not start fails with
 * `RollbackFailedError`. SUCCEEDED when nothing is left in flight (FAILED if CodeDeploy did not
 * know one of them), RUNNING otherwise.
 */
export async function rollBack(
  deps: DeploymentDeps,
  run: RollBackRun,
  options: RollBackOptions = {},
): Promise<RollbackState> {
  const { plan } = run;
  const planned = plannedServices(deps.config, plan);
  const waves = plannedWaves(plan);
  const searched = new Set(
    wavesToSearch(run, waves.length, options.searchLaterWaves ?? false).flatMap(
      (index) => waves[index]?.environments ?? [],
    ),
  );
  const recorded = run.deploy ? deploymentRefs(run.deploy.deployments) : [];
  const known = new Set(recorded.map((ref) => `${ref.environment}/${ref.service}`));
  let refs: DeploymentRef[];
  let kept: ReturnType<typeof rollbackScopeOf>['kept'];
  let infos: Map<string, DeploymentInfo>;
  let deployments: RunDeployment[];
  try {
    const found = await findRunDeployments(
      deps,
      plan,
      planned.filter(
        (p) => searched.has(p.environment.name) && !known.has(`${p.environment.name}/${p.service.name}`),
      ),
    );
    ({ refs, kept } = rollbackScopeOf(
      deps.config.rollbackScope ?? 'all',
      waves,
      [...recorded, ...found],
      run.deploy ? waveOf(run.deploy).index : 0,
    ));
    deployments = refs.map((ref) => joinPlanned(planned, ref));
    infos = await batchGetByRegion(
      deps.clients.codedeploy,
      deployments.map(({ ref, planned: p }) => ({
        region: p.environment.region,
        deploymentId: ref.deploymentId,
      })),
    );
  } catch (error) {
    throw failureOf(error, 'RollBack', 'no rollback was started yet');
  }

  const results = await Promise.allSettled(
    deployments.map((d) =>
      inPlace(placeOf(d.ref), () => rollBackOne(deps, plan, d, infos.get(d.ref.deploymentId))),
    ),
  );
  const rollbacks = begunOrThrow(plan, results, refs);
  const scoped = kept.length > 0 ? { kept } : {};
  if (rollbacks.some((r) => r.action !== 'none')) return { rollbacks, status: 'RUNNING', ...scoped };
  return {
    rollbacks,
    status: rollbacks.some((r) => r.status === MISSING) ? 'FAILED' : 'SUCCEEDED',
    ...scoped,
  };
}

/**
 * The rollbacks `results` began, one per ref; when one could not begin, the error: transient
 * ones only (a retry adopts what was begun: stops are idempotent, redeploys found by their
 * marker) name what was begun, others are `RollbackFailedError` naming the fix by hand.
 */
function begunOrThrow(
  plan: Plan,
  results: PromiseSettledResult<RollbackRef>[],
  refs: readonly DeploymentRef[],
): RollbackRef[] {
  const failed = rejectionSummary(results, refs, placeOf);
  if (failed?.allTransient) {
    const begun = results.flatMap((r) =>
      r.status === 'fulfilled' && r.value.action !== 'none'
        ? [
            `${r.value.environment}/${r.value.service} ${r.value.action}${r.value.rollbackDeploymentId ? ` ${r.value.rollbackDeploymentId}` : ''}`,
          ]
        : [],
    );
    const all = failed.count > 1 ? `all that failed: ${failed.what}; ` : '';
    throw failureOf(failed.cause, 'RollBack', `${all}rollbacks already begun: ${listSome(begun) || 'none'}`);
  }
  if (failed) {
    throw new RollbackFailedError(
      `Release ${plan.release} could not start every rollback: ${failed.what}. Roll those back by hand in the CodeDeploy console (stop the deployment with rollback, or deploy the previous revision).`,
      { cause: failed.cause },
    );
  }
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

/**
 * Brings back the groups whose rollback ended without getting back and is `redeployable`: deploys
 * the recorded previous revision on each, as a rollback of this release (an existing one is
 * adopted), the way ecspresso rolls back a deployment that is no longer running
 * (https://github.com/kayac/ecspresso/pull/284). The other rollbacks stay as they were. RUNNING
 * when one was redeployed, else FAILED.
 */
export async function redeployNotBack(
  deps: DeploymentDeps,
  plan: Plan,
  state: RollbackState,
): Promise<RollbackState> {
  if (!state.rollbacks.some(redeployable)) return { ...state, status: 'FAILED' };
  const planned = plannedServices(deps.config, plan);
  const results = await Promise.allSettled(
    state.rollbacks.map(async (ref): Promise<RollbackRef> => {
      if (!redeployable(ref)) return ref;
      return inPlace(placeOf(ref), async () => ({
        environment: ref.environment,
        service: ref.service,
        deploymentId: ref.deploymentId,
        deploymentStatus: ref.deploymentStatus,
        action: 'redeploy',
        rollbackDeploymentId: await redeployPrevious(deps, plan, joinPlanned(planned, ref)),
      }));
    }),
  );
  return { ...state, rollbacks: begunOrThrow(plan, results, state.rollbacks), status: 'RUNNING' };
}

/**
 * One rollback decision and why, in a few words, as the handlers log it:
 * `us/web: stop d-1 (InProgress) with automatic rollback`. `previousRevision` names what a
 * redeploy deploys (`family:revision`).
 */
export function describeRollback(ref: RollbackRef, previousRevision?: string): string {
  const where = `${ref.environment}/${ref.service}`;
  const was = ref.deploymentStatus ?? ref.status ?? 'unknown';
  switch (ref.action) {
    case 'stop':
      return `${where}: stop ${ref.deploymentId} (${was}) with automatic rollback`;
    case 'redeploy':
      return (
        `${where}: redeploy previous revision ${previousRevision ?? '(recorded by Plan)'} over ${ref.deploymentId} (${was})` +
        (ref.rollbackDeploymentId ? ` as ${ref.rollbackDeploymentId}` : '')
      );
    case 'adopt':
      return `${where}: follow CodeDeploy's rollback ${ref.rollbackDeploymentId ?? '(unnamed)'} of ${ref.deploymentId} (${was})`;
    case 'none':
      return ref.status === MISSING
        ? `${where}: CodeDeploy does not know ${ref.deploymentId}; check the group and roll it back by hand`
        : `${where}: nothing to roll back, ${ref.deploymentId} is ${was} before traffic moved`;
  }
}
