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
import { DeploymentFailedError, PreviousDeploymentFinishingError } from '../shared/errors.js';
import { startWatch, type Watch } from '../shared/lambda-context.js';
import { rejectionSummary } from '../shared/rejections.js';
import { deploymentIds } from '../shared/revisions.js';
import type { DeploymentRef, DeployState, Plan } from '../shared/types.js';

/** CodeDeploy's answer to CreateDeployment while the group has an active deployment. */
const LIMIT_EXCEEDED = 'DeploymentLimitExceededException';

/**
 * Starts one blue/green deployment per (environment, service) of the plan. Every group is
 * looked at before anything is created: a deployment of this release is adopted, any other
 * active deployment fails the run with `ForeignDeploymentError` and nothing is created,
 * except an earlier release's deployment whose termination wait Plan ended: CodeDeploy is
 * terminating its original tasks, and its group takes the new deployment once that finished.
 * While it has not, CreateDeployment answers `DeploymentLimitExceededException` and the group
 * is tried again every `pollSeconds` while `watch` allows (the invocation's time, the
 * configured watch without one); past that,
 * `PreviousDeploymentFinishingError` has the state machine retry (the deployments created by
 * then are adopted). If a create fails otherwise, `DeploymentFailedError` lets the state machine
 * roll back those that exist.
 */
export async function startDeployments(
  deps: DeploymentDeps,
  plan: Plan,
  watch: Watch = startWatch(deps.config, deps.clock),
): Promise<DeployState> {
  const planned = plannedServices(deps.config, plan);
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
  refuseForeignDeployments(
    plan.release,
    surveys,
    'started no deployment (its pre-deploy steps and migrations, if any, already ran)',
    ended,
  );

  const results = await Promise.allSettled(
    surveys.map(async (s): Promise<DeploymentRef> => {
      const ref = { environment: s.group.environment.name, service: s.group.service.name };
      if (s.ours?.deploymentId) return { ...ref, deploymentId: s.ours.deploymentId };
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
      `Release ${plan.release} could not create every deployment: ${failed.what}. Deployments that exist (${started()}) are rolled back; fix the cause and start the release again.`,
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

  return { deployments: deploymentIds(deployments), status: 'RUNNING', failures: [] };
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
