import { failureOf, inPlace } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import {
  createEcsDeployment,
  type DeploymentDeps,
  plannedServices,
  refuseForeignDeployments,
  surveyDeploymentGroups,
} from '../shared/deployments.js';
import { DeploymentFailedError } from '../shared/errors.js';
import { rejectionSummary } from '../shared/rejections.js';
import { deploymentIds } from '../shared/revisions.js';
import type { DeploymentRef, DeployState, Plan } from '../shared/types.js';

/**
 * Starts one blue/green deployment per (environment, service) of the plan. Every group is
 * looked at before anything is created: a deployment of this release is adopted, any other
 * active deployment fails the run with `ForeignDeploymentError` and nothing is created.
 * The rest are created at once; if one create fails, `DeploymentFailedError` lets the state
 * machine roll back those that exist.
 */
export async function startDeployments(deps: DeploymentDeps, plan: Plan): Promise<DeployState> {
  const planned = plannedServices(deps.config, plan);
  // Plan refused these already; one may have been started since, by hand or by CodeDeploy.
  const surveys = await surveyDeploymentGroups(
    deps.clients,
    plan.release,
    planned,
    new Date(plan.startedAt),
  ).catch((error: unknown) => {
    throw failureOf(error, 'StartDeployments', 'no deployment was created yet');
  });
  refuseForeignDeployments(
    plan.release,
    surveys,
    'started no deployment (its pre-deploy steps and migrations, if any, already ran)',
  );

  const results = await Promise.allSettled(
    surveys.map(async (s): Promise<DeploymentRef> => {
      const ref = { environment: s.group.environment.name, service: s.group.service.name };
      if (s.ours?.deploymentId) return { ...ref, deploymentId: s.ours.deploymentId };
      const codedeploy = deps.clients.codedeploy(s.group.environment.region);
      const deploymentId = await inPlace(`${ref.environment}/${ref.service}`, () =>
        createEcsDeployment(codedeploy, s.group.service, s.group.revisions.next, s.marker),
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
      listSome(deployments.map((d) => `${d.environment}/${d.service} ${d.deploymentId}`)) || 'none';
    // Throttling says nothing of the groups: the retry adopts what exists and creates the rest.
    if (failed.allTransient) {
      const all = failed.count > 1 ? `all that failed: ${failed.what}; ` : '';
      throw failureOf(failed.cause, 'StartDeployments', `${all}already created: ${started}`);
    }
    throw new DeploymentFailedError(
      `Release ${plan.release} could not create every deployment: ${failed.what}. Deployments that exist (${started}) are rolled back; fix the cause and start the release again.`,
      { cause: failed.cause },
    );
  }

  return { deployments: deploymentIds(deployments), status: 'RUNNING', failures: [] };
}
