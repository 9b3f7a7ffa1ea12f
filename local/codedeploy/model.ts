import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import { offsetPage } from '../page-token.js';
import { parseEcsAppSpec } from './appspec.js';
import { deploymentInfo } from './deployment-info.js';
import { GroupRegistry } from './groups.js';
import { BlueGreenLifecycle } from './lifecycle.js';
import {
  ACTIVE,
  type AutoRollbackConfiguration,
  checkDeploymentId,
  type Deployment,
  type DeploymentGroup,
  type DeploymentGroupInput,
  DONE,
  newDeploymentId,
  pendingTarget,
  type Revision,
  type TaskSetPort,
} from './records.js';
import { Rollbacks } from './rollbacks.js';
import { batchGetDeploymentTargets, getDeploymentTarget, listDeploymentTargets } from './targets.js';

export type {
  AutoRollbackConfiguration,
  AutoRollbackEvent,
  DeploymentGroupInput,
  DeploymentStatus,
  LifecycleEvent,
  TaskSetPort,
} from './records.js';
export { LIFECYCLE_EVENTS } from './records.js';

/** BatchGetDeployments takes at most 25 ids. */
const BATCH_GET_DEPLOYMENTS_MAX = 25;

/**
 * CodeDeploy for ECS blue/green, per Region: applications and groups (`groups.ts`), deployments
 * and their reads (here and `deployment-info.ts`), the blue/green lifecycle (`lifecycle.ts`),
 * rollbacks (`rollbacks.ts`) and deployment targets (`targets.ts`), timed by the local clock.
 */
export class CodeDeployModel {
  private readonly registry: GroupRegistry;
  private readonly deployments = new Map<string, Deployment>();
  private readonly lifecycle: BlueGreenLifecycle;
  private readonly rollbacks: Rollbacks;

  constructor(private readonly deps: { ecs: TaskSetPort; clock: LocalClock; faults: Faults }) {
    this.registry = new GroupRegistry(deps.clock);
    this.lifecycle = new BlueGreenLifecycle(deps);
    this.rollbacks = new Rollbacks(this.lifecycle, deps, (trigger, message) =>
      this.record(trigger.region, trigger.group, Rollbacks.fieldsOf(trigger, message)),
    );
  }

  // ---- applications and groups -------------------------------------------------------

  /** CreateApplication. */
  createApplication(region: string, applicationName: string): { applicationId: string } {
    return this.registry.createApplication(region, applicationName);
  }

  /** CreateDeploymentGroup (ECS blue/green). */
  createDeploymentGroup(region: string, input: DeploymentGroupInput): { deploymentGroupId: string } {
    return this.registry.createDeploymentGroup(region, input);
  }

  /** GetApplication. */
  getApplication(region: string, applicationName: string | undefined) {
    return this.registry.getApplication(region, applicationName);
  }

  /** ListApplications. */
  listApplications(region: string) {
    return this.registry.listApplications(region);
  }

  /** ListDeploymentGroups. */
  listDeploymentGroups(region: string, applicationName: string | undefined) {
    return this.registry.listDeploymentGroups(region, applicationName);
  }

  /** GetDeploymentGroup. */
  getDeploymentGroup(
    region: string,
    applicationName: string | undefined,
    deploymentGroupName: string | undefined,
  ) {
    return this.registry.getDeploymentGroup(
      region,
      applicationName,
      deploymentGroupName,
      this.deployments.values(),
    );
  }

  // ---- deployments -------------------------------------------------------------------

  /**
   * CreateDeployment: one active deployment per group, as CodeDeploy allows; the AppSpec
   * content is parsed (JSON or YAML), its sha256 and its task definition ARN checked
   * before anything is recorded.
   */
  createDeployment(
    region: string,
    input: {
      applicationName?: string;
      deploymentGroupName?: string;
      revision?: { revisionType?: string; appSpecContent?: { content?: string; sha256?: string } };
      description?: string;
      autoRollbackConfiguration?: AutoRollbackConfiguration;
    },
  ): { deploymentId: string } {
    const group = this.registry.group(region, input.applicationName, input.deploymentGroupName);
    const revision = input.revision;
    if (!revision) {
      throw new AwsError(
        'RevisionRequiredException',
        'revision is required; pass an AppSpecContent revision.',
      );
    }
    if (revision.revisionType !== 'AppSpecContent' || typeof revision.appSpecContent?.content !== 'string') {
      throw new AwsError(
        'InvalidRevisionException',
        `revision.revisionType ${String(revision.revisionType)} is not supported for ECS here; pass revisionType AppSpecContent with appSpecContent.content.`,
      );
    }
    const spec = parseEcsAppSpec(revision.appSpecContent.content, revision.appSpecContent.sha256);
    const active = this.activeDeployment(group);
    if (active) {
      throw new AwsError(
        'DeploymentLimitExceededException',
        `The deployment group ${group.deploymentGroupName} of application ${group.applicationName} already has an active deployment ${active.deploymentId} (status ${active.status}); wait until it ends or stop it.`,
      );
    }
    const recorded: Revision = {
      revisionType: 'AppSpecContent',
      appSpecContent: { content: revision.appSpecContent.content, sha256: revision.appSpecContent.sha256 },
    };
    group.targetRevision = recorded;
    const deployment = this.record(region, group, {
      creator: 'user',
      deploymentConfigName: group.deploymentConfigName,
      description: input.description,
      revision: recorded,
      spec,
      autoRollback: input.autoRollbackConfiguration ??
        group.autoRollbackConfiguration ?? { enabled: false, events: [] },
    });
    this.lifecycle.launch(deployment, () =>
      this.lifecycle.run(deployment, (d, message) => this.onFailure(d, message)),
    );
    return { deploymentId: deployment.deploymentId };
  }

  /** A failed deployment rolls back when its auto-rollback covers failures; else its unused replacement goes. */
  private async onFailure(d: Deployment, message: string): Promise<void> {
    if (d.autoRollback.enabled && d.autoRollback.events.includes('DEPLOYMENT_FAILURE')) {
      const left = d.done;
      const rollback = this.rollbacks.start(
        d,
        `Automatic rollback triggered by the failure of ${d.deploymentId}: ${message}`,
        left,
      );
      // The failed deployment's lifecycle counts as done only once its rollback is.
      d.done = Promise.all([left, rollback.done]).then(() => undefined);
    } else {
      await this.lifecycle.removeReplacement(d);
    }
  }

  private activeDeployment(group: DeploymentGroup): Deployment | undefined {
    return [...this.deployments.values()].find((d) => d.group === group && ACTIVE.has(d.status));
  }

  private record(
    region: string,
    group: DeploymentGroup,
    fields: Pick<
      Deployment,
      'creator' | 'deploymentConfigName' | 'description' | 'revision' | 'spec' | 'autoRollback'
    > &
      Partial<Pick<Deployment, 'rollbackInfo'>>,
  ): Deployment {
    const nowMs = this.deps.clock.nowMs();
    const deployment: Deployment = {
      region,
      deploymentId: newDeploymentId(),
      group,
      status: 'Created',
      createTimeMs: nowMs,
      messages: [],
      target: pendingTarget(nowMs),
      replacementWeight: 0,
      trafficShifted: false,
      stopped: false,
      stopRequested: false,
      readyContinued: false,
      terminationContinued: false,
      wake: new Set(),
      done: Promise.resolve(),
      ...fields,
    };
    this.deployments.set(deployment.deploymentId, deployment);
    return deployment;
  }

  private deployment(region: string, id: string | undefined): Deployment {
    if (!id)
      throw new AwsError('DeploymentIdRequiredException', 'deploymentId is required; pass a deployment id.');
    checkDeploymentId(id);
    const deployment = this.deployments.get(id);
    if (!deployment || deployment.region !== region) {
      throw new AwsError('DeploymentDoesNotExistException', `Deployment ${id} does not exist in ${region}.`);
    }
    return deployment;
  }

  /** GetDeployment. */
  getDeployment(region: string, deploymentId: string | undefined) {
    return { deploymentInfo: deploymentInfo(this.deployment(region, deploymentId)) };
  }

  /** BatchGetDeployments: at most 25 ids; ids that do not exist are left out. */
  batchGetDeployments(region: string, deploymentIds: string[] | undefined) {
    if (!deploymentIds || deploymentIds.length === 0) {
      throw new AwsError(
        'DeploymentIdRequiredException',
        'deploymentIds is required; pass 1 to 25 deployment ids.',
      );
    }
    if (deploymentIds.length > BATCH_GET_DEPLOYMENTS_MAX) {
      throw new AwsError(
        'BatchLimitExceededException',
        `deploymentIds holds ${deploymentIds.length} ids; BatchGetDeployments takes at most 25 per call.`,
      );
    }
    const nowMs = this.deps.clock.nowMs();
    const infos = deploymentIds.flatMap((id) => {
      checkDeploymentId(id);
      const d = this.deployments.get(id);
      if (!d || d.region !== region) return [];
      // AWS time since it was created: the lag is given, like every wait, before the time scale.
      const ageMs = (nowMs - d.createTimeMs) * this.deps.clock.timeScale;
      return this.deps.faults.lagging('codedeploy', ageMs) ? [] : [deploymentInfo(d)];
    });
    return { deploymentsInfo: infos };
  }

  /** ListDeployments, newest first, 100 per page. */
  listDeployments(
    region: string,
    input: {
      applicationName?: string;
      deploymentGroupName?: string;
      includeOnlyStatuses?: string[];
      createTimeRange?: { start?: number; end?: number };
      nextToken?: string;
    },
  ) {
    let group: DeploymentGroup | undefined;
    if (input.deploymentGroupName !== undefined) {
      group = this.registry.group(region, input.applicationName, input.deploymentGroupName);
    } else if (input.applicationName !== undefined) {
      this.registry.application(region, input.applicationName);
    }
    const start = input.createTimeRange?.start;
    const end = input.createTimeRange?.end;
    if (start !== undefined && end !== undefined && start > end) {
      throw new AwsError('InvalidTimeRangeException', 'createTimeRange.start is after createTimeRange.end.');
    }
    const statuses = input.includeOnlyStatuses;
    const matching = [...this.deployments.values()]
      .filter(
        (d) =>
          d.region === region &&
          (group === undefined || d.group === group) &&
          (input.applicationName === undefined || d.group.applicationName === input.applicationName) &&
          (statuses === undefined || statuses.length === 0 || statuses.includes(d.status)) &&
          (start === undefined || d.createTimeMs >= start * 1000) &&
          (end === undefined || d.createTimeMs <= end * 1000),
      )
      .sort((a, b) => b.createTimeMs - a.createTimeMs);
    const page = offsetPage(matching, 100, input.nextToken, 'InvalidNextTokenException');
    return { deployments: page.items.map((d) => d.deploymentId), nextToken: page.nextToken };
  }

  // ---- deployment targets ------------------------------------------------------------

  /** ListDeploymentTargets. */
  listDeploymentTargets(
    region: string,
    input: { deploymentId?: string; targetFilters?: Record<string, string[]>; nextToken?: string },
  ) {
    return listDeploymentTargets(
      this.deployment(region, input.deploymentId),
      input.targetFilters,
      input.nextToken,
    );
  }

  /** BatchGetDeploymentTargets. */
  batchGetDeploymentTargets(region: string, input: { deploymentId?: string; targetIds?: string[] }) {
    return batchGetDeploymentTargets(
      this.deployment(region, input.deploymentId),
      input.targetIds,
      this.deps.ecs,
    );
  }

  /** GetDeploymentTarget. */
  getDeploymentTarget(region: string, input: { deploymentId?: string; targetId?: string }) {
    return getDeploymentTarget(this.deployment(region, input.deploymentId), input.targetId, this.deps.ecs);
  }

  // ---- stopping and continuing -------------------------------------------------------

  /**
   * StopDeployment answers `Pending`: the deployment turns Stopped a little later and, with
   * `autoRollbackEnabled` (or when the deployment's auto-rollback covers stop requests), its
   * rollback deployment shows in `rollbackInfo` after that.
   */
  stopDeployment(region: string, deploymentId: string | undefined, autoRollbackEnabled?: boolean) {
    const deployment = this.deployment(region, deploymentId);
    if (DONE.has(deployment.status)) {
      throw new AwsError(
        'DeploymentAlreadyCompletedException',
        `Deployment ${deployment.deploymentId} has already completed (status ${deployment.status}).`,
      );
    }
    const pending = { status: 'Pending', statusMessage: `Stopping deployment ${deployment.deploymentId}.` };
    if (deployment.stopRequested) return pending;
    const rollback =
      (autoRollbackEnabled ??
        (deployment.autoRollback.enabled &&
          deployment.autoRollback.events.includes('DEPLOYMENT_STOP_ON_REQUEST'))) &&
      deployment.creator !== 'codeDeployRollback';
    deployment.stopRequested = true;
    deployment.stopped = true;
    this.rollbacks.settleStop(deployment, rollback);
    this.lifecycle.wake(deployment);
    return pending;
  }

  /**
   * ContinueDeployment: `READY_WAIT` shifts traffic now instead of waiting for the ready wait;
   * `TERMINATION_WAIT` terminates the original task set now, once traffic has moved (the
   * target Succeeded while the deployment is InProgress).
   */
  continueDeployment(
    region: string,
    deploymentId: string | undefined,
    waitType = 'READY_WAIT',
  ): Record<string, never> {
    const deployment = this.deployment(region, deploymentId);
    if (DONE.has(deployment.status)) {
      throw new AwsError(
        'DeploymentAlreadyCompletedException',
        `Deployment ${deployment.deploymentId} has already completed (status ${deployment.status}).`,
      );
    }
    if (waitType === 'READY_WAIT') {
      if (deployment.status !== 'Ready') {
        throw new AwsError(
          'DeploymentIsNotInReadyStateException',
          `Deployment ${deployment.deploymentId} is not in its ready wait (status ${deployment.status}); READY_WAIT continues a deployment whose status is Ready.`,
        );
      }
      deployment.readyContinued = true;
    } else if (waitType === 'TERMINATION_WAIT') {
      if (deployment.status !== 'InProgress' || deployment.target.status !== 'Succeeded') {
        throw new AwsError(
          'DeploymentIsNotInReadyStateException',
          `Deployment ${deployment.deploymentId} has not moved its traffic yet (status ${deployment.status}, target ${deployment.target.status}); TERMINATION_WAIT applies once its target Succeeded.`,
        );
      }
      deployment.terminationContinued = true;
    } else {
      throw new AwsError(
        'InvalidDeploymentWaitTypeException',
        `deploymentWaitType ${waitType} is invalid; use READY_WAIT or TERMINATION_WAIT.`,
      );
    }
    this.lifecycle.wake(deployment);
    return {};
  }

  /** Stops every lifecycle (the local AWS is shutting down) and waits for them to leave. */
  async shutdown(): Promise<void> {
    const all = [...this.deployments.values()];
    this.lifecycle.shutdown(all);
    await Promise.all(all.map((d) => d.done));
  }
}
