import { type DeploymentInfo, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { failureOf, inCall, inPlace } from '../shared/aws-errors.js';
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
import type { DeploymentRef, Plan, RollbackRef, RollbackState } from '../shared/types.js';
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
 * The run's deployments found by their marker: on each deployment group the plan deploys,
 * the newest deployment created since the plan started whose description is this release's
 * marker. Used when StartDeployments did not return (cancelled, or failed half-way).
 */
export async function findRunDeployments(deps: DeploymentDeps, plan: Plan): Promise<DeploymentRef[]> {
  const found = await Promise.all(
    plannedServices(deps.config, plan).map(async ({ environment, service }) => {
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

function isAlreadyCompleted(error: unknown): boolean {
  return error instanceof Error && error.name === 'DeploymentAlreadyCompletedException';
}

/** CodeDeploy's answer to a CreateDeployment on a group that has an active deployment. */
function isLimitExceeded(error: unknown): boolean {
  return error instanceof Error && error.name === 'DeploymentLimitExceededException';
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
        if (!isAlreadyCompleted(error)) throw error;
        // It finished between the look and the stop: decide again from where it ended.
        const ended = (await batchGetDeployments(codedeploy, [ref.deploymentId])).get(ref.deploymentId);
        if (!ended || decideRollback(ended) === 'stop') throw error;
        return rollBackOne(deps, plan, { ref, planned }, ended);
      }
    case 'redeploy': {
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
      let rollbackDeploymentId = await findOurs();
      if (!rollbackDeploymentId) {
        try {
          rollbackDeploymentId = await createEcsDeployment(
            codedeploy,
            planned.service,
            planned.revisions.previous,
            marker,
          );
        } catch (error) {
          // Another cleanup of the same run (EventBridge delivers at least once) created it
          // since the look: the group's one active deployment is ours to adopt.
          if (!isLimitExceeded(error)) throw error;
          rollbackDeploymentId = await findOurs();
          if (!rollbackDeploymentId) throw error;
        }
      }
      return { ...decided, action, rollbackDeploymentId };
    }
    case 'adopt':
      return { ...decided, action, rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId };
    case 'none':
      return { ...decided, action, status: info.status };
  }
}

/**
 * Rolls back every deployment of the run: the ones StartDeployments returned, else the ones
 * found by marker. Each is stopped with auto-rollback while in flight, redeployed to the
 * recorded previous revision once succeeded (an existing rollback deployment of this release
 * is adopted, never duplicated), or follows the rollback CodeDeploy already made. Every
 * rollback is attempted; one that could not start fails with `RollbackFailedError`.
 * SUCCEEDED when nothing is left in flight (FAILED if CodeDeploy did not know one of them),
 * RUNNING otherwise.
 */
export async function rollBack(deps: DeploymentDeps, run: RollBackRun): Promise<RollbackState> {
  const { plan } = run;
  const planned = plannedServices(deps.config, plan);
  let refs: DeploymentRef[];
  let infos: Map<string, DeploymentInfo>;
  let deployments: RunDeployment[];
  try {
    refs = run.deploy ? deploymentRefs(run.deploy.deployments) : await findRunDeployments(deps, plan);
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
      inPlace(`${d.ref.environment}/${d.ref.service} (deployment ${d.ref.deploymentId})`, () =>
        rollBackOne(deps, plan, d, infos.get(d.ref.deploymentId)),
      ),
    ),
  );
  const failed = rejectionSummary(
    results,
    refs,
    (ref) => `${ref.environment}/${ref.service} (deployment ${ref.deploymentId})`,
  );
  if (failed?.allTransient) {
    const begun = results.flatMap((r) =>
      r.status === 'fulfilled' && r.value.action !== 'none'
        ? [
            `${r.value.environment}/${r.value.service} ${r.value.action}${r.value.rollbackDeploymentId ? ` ${r.value.rollbackDeploymentId}` : ''}`,
          ]
        : [],
    );
    // The retry adopts what was begun: stops are idempotent, redeploys found by their marker.
    const all = failed.count > 1 ? `all that failed: ${failed.what}; ` : '';
    throw failureOf(failed.cause, 'RollBack', `${all}rollbacks already begun: ${listSome(begun) || 'none'}`);
  }
  if (failed) {
    throw new RollbackFailedError(
      `Release ${plan.release} could not start every rollback: ${failed.what}. Roll those back by hand in the CodeDeploy console (stop the deployment with rollback, or deploy the previous revision).`,
      { cause: failed.cause },
    );
  }

  const rollbacks = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (rollbacks.some((r) => r.action !== 'none')) return { rollbacks, status: 'RUNNING' };
  return { rollbacks, status: rollbacks.some((r) => r.status === MISSING) ? 'FAILED' : 'SUCCEEDED' };
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
