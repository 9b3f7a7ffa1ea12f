import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import {
  ACTIVE_STATUSES,
  batchGetDeployments,
  createEcsDeployment,
  type DeploymentDeps,
  findMarkedDeployments,
  isAutoRollback,
  listDeploymentIds,
  type PlannedService,
  plannedServices,
} from '../shared/deployments.js';
import { DeploymentFailedError, ForeignDeploymentError } from '../shared/errors.js';
import { deploymentMarker } from '../shared/markers.js';
import { rejectionSummary } from '../shared/rejections.js';
import type { DeploymentRef, DeployState, Plan } from '../shared/types.js';

/** What one deployment group holds before anything is created. */
interface GroupSurvey {
  planned: PlannedService;
  marker: string;
  /** Our deployment of this release on the group, when a previous attempt created it. */
  ours?: DeploymentInfo;
  /** Active deployments someone else started. */
  foreign: DeploymentInfo[];
}

async function survey(deps: DeploymentDeps, plan: Plan, planned: PlannedService): Promise<GroupSurvey> {
  const codedeploy = deps.clients.codedeploy(planned.environment.region);
  const group = {
    application: planned.service.application,
    deploymentGroup: planned.service.deploymentGroup,
  };
  const marker = deploymentMarker(plan.release, planned.environment.name, planned.service.name);
  const active = [
    ...(
      await batchGetDeployments(
        codedeploy,
        await listDeploymentIds(codedeploy, { ...group, statuses: ACTIVE_STATUSES }),
      )
    ).values(),
  ];
  const isOurs = (info: DeploymentInfo) => info.description === marker && !isAutoRollback(info);
  let ours = active.find(isOurs);
  const foreign = active.filter((info) => !isOurs(info));
  if (!ours) {
    // A retry after our deployment already finished must adopt it too, never deploy twice.
    [ours] = await findMarkedDeployments(
      codedeploy,
      { ...group, createdAfter: new Date(plan.startedAt) },
      marker,
    );
  }
  return { planned, marker, ours, foreign };
}

function describeForeign(s: GroupSurvey, info: DeploymentInfo): string {
  const { environment, service } = s.planned;
  return `deployment group ${service.application}/${service.deploymentGroup} (${environment.name}/${service.name}, ${environment.region}) has active deployment ${info.deploymentId} (status ${info.status}, creator ${info.creator ?? 'unknown'}, description "${info.description ?? ''}")`;
}

/**
 * Starts one blue/green deployment per (environment, service) of the plan. Every group is
 * looked at before anything is created: a deployment of this release is adopted, any other
 * active deployment fails the run with `ForeignDeploymentError` and nothing is created.
 * The rest are created at once; if one create fails, `DeploymentFailedError` lets the state
 * machine roll back those that exist.
 */
export async function startDeployments(deps: DeploymentDeps, plan: Plan): Promise<DeployState> {
  const planned = plannedServices(deps.config, plan);
  const surveys = await Promise.all(planned.map((p) => survey(deps, plan, p)));

  const foreign = surveys.flatMap((s) => s.foreign.map((info) => describeForeign(s, info)));
  if (foreign.length > 0) {
    throw new ForeignDeploymentError(
      `Release ${plan.release} did not start any deployment: ${foreign.join('; ')}. Wait for it to finish or stop it, then start the release again.`,
    );
  }

  const results = await Promise.allSettled(
    surveys.map(async (s): Promise<DeploymentRef> => {
      const ref = { environment: s.planned.environment.name, service: s.planned.service.name };
      if (s.ours?.deploymentId) return { ...ref, deploymentId: s.ours.deploymentId };
      const codedeploy = deps.clients.codedeploy(s.planned.environment.region);
      const deploymentId = await createEcsDeployment(
        codedeploy,
        s.planned.service,
        s.planned.revisions.next,
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
      `${s.planned.service.application}/${s.planned.service.deploymentGroup} (${s.planned.environment.name}/${s.planned.service.name})`,
  );
  if (failed) {
    const started =
      deployments.map((d) => `${d.environment}/${d.service} ${d.deploymentId}`).join(', ') || 'none';
    throw new DeploymentFailedError(
      `Release ${plan.release} could not create every deployment: ${failed.what}. Deployments that exist (${started}) are rolled back; fix the cause and start the release again.`,
      { cause: failed.cause },
    );
  }

  return { deployments, status: 'RUNNING', failures: [] };
}
