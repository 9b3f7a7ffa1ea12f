import { randomBytes, randomUUID } from 'node:crypto';
import { parseMarker } from '../../lambdas/shared/markers.js';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import { offsetPage } from '../page-token.js';
import { type EcsAppSpec, ecsAppSpecContent, parseEcsAppSpec } from './appspec.js';

/** The ECS task set operations a blue/green deployment drives; the local ECS provides them. */
export interface TaskSetPort {
  /** The task set serving the service's traffic now, if any. */
  primaryTaskSet(
    region: string,
    cluster: string,
    service: string,
  ): { id: string; taskDefinition: string } | undefined;
  /** Starts a task set of `taskDefinition` on the service; resolves to its id. A bad task definition rejects. */
  createTaskSet(
    region: string,
    cluster: string,
    service: string,
    taskDefinition: string,
    externalId: string,
  ): Promise<string>;
  /** Routes the service's traffic to the task set. */
  setPrimaryTaskSet(region: string, cluster: string, service: string, taskSetId: string): Promise<void>;
  /** Stops the task set's tasks (stop signal, then SIGKILL after stopTimeout) and removes it. */
  deleteTaskSet(region: string, cluster: string, service: string, taskSetId: string): Promise<void>;
  /** True once every task of the set runs and answers its health check. */
  isTaskSetHealthy(region: string, cluster: string, service: string, taskSetId: string): Promise<boolean>;
}

/** Events of a deployment that may roll it back (`autoRollbackConfiguration.events`). */
export type AutoRollbackEvent =
  | 'DEPLOYMENT_FAILURE'
  | 'DEPLOYMENT_STOP_ON_ALARM'
  | 'DEPLOYMENT_STOP_ON_REQUEST';

/** `autoRollbackConfiguration` of a group or a deployment. */
export interface AutoRollbackConfiguration {
  enabled: boolean;
  events: AutoRollbackEvent[];
}

/** A deployment group as CreateDeploymentGroup takes it (the ECS blue/green part). */
export interface DeploymentGroupInput {
  applicationName: string;
  deploymentGroupName: string;
  serviceRoleArn?: string;
  deploymentConfigName?: string;
  ecsServices: Array<{ serviceName: string; clusterName: string }>;
  /** Ready wait: `STOP_DEPLOYMENT` waits `waitTimeInMinutes` for ContinueDeployment; absent or `CONTINUE_DEPLOYMENT` shifts at once. */
  deploymentReadyOption?: {
    actionOnTimeout?: 'CONTINUE_DEPLOYMENT' | 'STOP_DEPLOYMENT';
    waitTimeInMinutes?: number;
  };
  /** Minutes the original task set keeps running after traffic moved. */
  terminationWaitTimeInMinutes?: number;
  autoRollbackConfiguration?: AutoRollbackConfiguration;
  loadBalancerInfo?: unknown;
}

/** The ECS lifecycle events of a blue/green deployment, in order. */
export const LIFECYCLE_EVENTS = [
  'BeforeInstall',
  'Install',
  'AfterInstall',
  'AllowTestTraffic',
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AllowTraffic',
  'AfterAllowTraffic',
] as const;

/** One ECS lifecycle event. */
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** Deployment statuses CodeDeploy reports. */
export type DeploymentStatus =
  | 'Created'
  | 'Queued'
  | 'InProgress'
  | 'Baking'
  | 'Ready'
  | 'Succeeded'
  | 'Failed'
  | 'Stopped';

const ACTIVE: ReadonlySet<DeploymentStatus> = new Set(['Created', 'Queued', 'InProgress', 'Baking', 'Ready']);
const DONE: ReadonlySet<DeploymentStatus> = new Set(['Succeeded', 'Failed', 'Stopped']);

/** How long replacement tasks may take to become healthy before the deployment fails (scaled). */
const HEALTH_TIMEOUT_MS = 5 * 60_000;
/** Processes start in real time whatever the scale: the health wait lasts at least this long (real). */
const HEALTH_TIMEOUT_FLOOR_REAL_MS = 30_000;
/** Between two looks at the replacement's health (scaled). */
const HEALTH_POLL_MS = 1_000;
/** How long a rollback takes to reroute traffic (scaled): long enough for a poller to see it in flight. */
const ROLLBACK_REROUTE_MS = 5_000;

interface Application {
  region: string;
  applicationId: string;
  applicationName: string;
  createTimeMs: number;
}

interface DeploymentGroup extends DeploymentGroupInput {
  region: string;
  deploymentGroupId: string;
  targetRevision?: Revision;
}

interface Revision {
  revisionType: 'AppSpecContent';
  appSpecContent: { content: string; sha256?: string };
}

interface Deployment {
  region: string;
  deploymentId: string;
  group: DeploymentGroup;
  status: DeploymentStatus;
  creator: 'user' | 'autoRollback';
  description?: string;
  revision: Revision;
  spec: EcsAppSpec;
  previousRevision?: Revision;
  autoRollback: AutoRollbackConfiguration;
  createTimeMs: number;
  startTimeMs?: number;
  completeTimeMs?: number;
  errorInformation?: { code: string; message: string };
  rollbackInfo?: {
    rollbackDeploymentId?: string;
    rollbackTriggeringDeploymentId?: string;
    rollbackMessage?: string;
  };
  messages: string[];
  instanceTerminationWaitTimeStarted: boolean;
  originalTaskSetId?: string;
  replacementTaskSetId?: string;
  trafficShifted: boolean;
  /** Set by StopDeployment; the lifecycle leaves at its next step. */
  stopped: boolean;
  readyContinued: boolean;
  terminationContinued: boolean;
  /** Wakes the lifecycle from its waits when StopDeployment or ContinueDeployment came in. */
  wake: Set<() => void>;
  /** Settles when the lifecycle has left (whatever the outcome). */
  done: Promise<void>;
}

/** Thrown inside a lifecycle when the deployment was stopped or the local AWS shuts down. */
class Interrupted extends Error {}

/** A lifecycle step failed: the deployment ends Failed with this error information. */
class LifecycleFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function newDeploymentId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `d-${[...randomBytes(9)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
}

/** A malformed deployment id is CodeDeploy's `InvalidDeploymentIdException`. */
function checkDeploymentId(id: string): void {
  if (!/^d-[A-Z0-9]{9}$/.test(id)) {
    throw new AwsError(
      'InvalidDeploymentIdException',
      `${id} is not a deployment id (d- and 9 letters or digits).`,
    );
  }
}

/** The blue/green settings of a group, as both GetDeploymentGroup and GetDeployment report them. */
function blueGreenStyleOf(group: DeploymentGroup) {
  const ready = group.deploymentReadyOption;
  return {
    deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
    blueGreenDeploymentConfiguration: {
      deploymentReadyOption: {
        actionOnTimeout: ready?.actionOnTimeout ?? 'CONTINUE_DEPLOYMENT',
        waitTimeInMinutes: ready?.waitTimeInMinutes ?? 0,
      },
      terminateBlueInstancesOnDeploymentSuccess: {
        action: 'TERMINATE',
        terminationWaitTimeInMinutes: group.terminationWaitTimeInMinutes ?? 0,
      },
    },
  };
}

/**
 * CodeDeploy for ECS blue/green, per Region: applications, deployment groups and deployments
 * whose lifecycle drives the local ECS task sets, timed by the local clock.
 */
export class CodeDeployModel {
  private readonly applications = new Map<string, Application>();
  private readonly groups = new Map<string, DeploymentGroup>();
  private readonly deployments = new Map<string, Deployment>();
  private shuttingDown = false;

  constructor(private readonly deps: { ecs: TaskSetPort; clock: LocalClock; faults: Faults }) {}

  // ---- applications and groups -------------------------------------------------------

  /** CreateApplication. */
  createApplication(region: string, applicationName: string): { applicationId: string } {
    if (!applicationName) {
      throw new AwsError(
        'ApplicationNameRequiredException',
        'applicationName is required; pass the application name.',
      );
    }
    const key = `${region}/${applicationName}`;
    if (this.applications.has(key)) {
      throw new AwsError(
        'ApplicationAlreadyExistsException',
        `Application ${applicationName} already exists in ${region}.`,
      );
    }
    const app = {
      region,
      applicationId: randomUUID(),
      applicationName,
      createTimeMs: this.deps.clock.nowMs(),
    };
    this.applications.set(key, app);
    return { applicationId: app.applicationId };
  }

  /** CreateDeploymentGroup (ECS blue/green). */
  createDeploymentGroup(region: string, input: DeploymentGroupInput): { deploymentGroupId: string } {
    this.application(region, input.applicationName);
    if (!input.deploymentGroupName) {
      throw new AwsError(
        'DeploymentGroupNameRequiredException',
        'deploymentGroupName is required; pass the deployment group name.',
      );
    }
    const key = `${region}/${input.applicationName}/${input.deploymentGroupName}`;
    if (this.groups.has(key)) {
      throw new AwsError(
        'DeploymentGroupAlreadyExistsException',
        `Deployment group ${input.deploymentGroupName} already exists in application ${input.applicationName} (${region}).`,
      );
    }
    if (input.ecsServices.length !== 1) {
      throw new AwsError(
        'InvalidECSServiceException',
        `Deployment group ${input.deploymentGroupName} must name exactly one ECS service (ecsServices), not ${input.ecsServices.length}.`,
      );
    }
    const group: DeploymentGroup = { ...input, region, deploymentGroupId: randomUUID() };
    this.groups.set(key, group);
    return { deploymentGroupId: group.deploymentGroupId };
  }

  private application(region: string, name: string | undefined): Application {
    if (!name) {
      throw new AwsError(
        'ApplicationNameRequiredException',
        'applicationName is required; pass the application name.',
      );
    }
    const app = this.applications.get(`${region}/${name}`);
    if (!app) {
      throw new AwsError(
        'ApplicationDoesNotExistException',
        `No application named ${name} exists in ${region}; check the name and the Region.`,
      );
    }
    return app;
  }

  private group(
    region: string,
    applicationName: string | undefined,
    name: string | undefined,
  ): DeploymentGroup {
    const app = this.application(region, applicationName);
    if (!name) {
      throw new AwsError(
        'DeploymentGroupNameRequiredException',
        'deploymentGroupName is required; pass the deployment group name.',
      );
    }
    const group = this.groups.get(`${region}/${app.applicationName}/${name}`);
    if (!group) {
      throw new AwsError(
        'DeploymentGroupDoesNotExistException',
        `No deployment group named ${name} exists in application ${app.applicationName} (${region}).`,
      );
    }
    return group;
  }

  /** GetApplication. */
  getApplication(region: string, applicationName: string | undefined) {
    const app = this.application(region, applicationName);
    return {
      application: {
        applicationId: app.applicationId,
        applicationName: app.applicationName,
        createTime: seconds(app.createTimeMs),
        linkedToGitHub: false,
        computePlatform: 'ECS',
      },
    };
  }

  /** ListApplications (one page: the local AWS holds few). */
  listApplications(region: string) {
    return {
      applications: [...this.applications.values()]
        .filter((app) => app.region === region)
        .map((app) => app.applicationName)
        .sort(),
    };
  }

  /** ListDeploymentGroups. */
  listDeploymentGroups(region: string, applicationName: string | undefined) {
    const app = this.application(region, applicationName);
    return {
      applicationName: app.applicationName,
      deploymentGroups: [...this.groups.values()]
        .filter((g) => g.region === region && g.applicationName === app.applicationName)
        .map((g) => g.deploymentGroupName)
        .sort(),
    };
  }

  /** GetDeploymentGroup. */
  getDeploymentGroup(
    region: string,
    applicationName: string | undefined,
    deploymentGroupName: string | undefined,
  ) {
    const group = this.group(region, applicationName, deploymentGroupName);
    const ofGroup = [...this.deployments.values()]
      .filter((d) => d.group === group)
      .sort((a, b) => b.createTimeMs - a.createTimeMs);
    const summary = (d: Deployment | undefined) =>
      d && {
        deploymentId: d.deploymentId,
        status: d.status,
        endTime: seconds(d.completeTimeMs),
        createTime: seconds(d.createTimeMs),
      };
    return {
      deploymentGroupInfo: {
        applicationName: group.applicationName,
        deploymentGroupId: group.deploymentGroupId,
        deploymentGroupName: group.deploymentGroupName,
        deploymentConfigName: group.deploymentConfigName ?? 'CodeDeployDefault.ECSAllAtOnce',
        serviceRoleArn: group.serviceRoleArn,
        targetRevision: group.targetRevision,
        autoRollbackConfiguration: group.autoRollbackConfiguration ?? { enabled: false, events: [] },
        ...blueGreenStyleOf(group),
        loadBalancerInfo: group.loadBalancerInfo,
        ecsServices: group.ecsServices,
        computePlatform: 'ECS',
        lastSuccessfulDeployment: summary(ofGroup.find((d) => d.status === 'Succeeded')),
        lastAttemptedDeployment: summary(ofGroup.find((d) => DONE.has(d.status))),
      },
    };
  }

  // ---- deployments -------------------------------------------------------------------

  /**
   * CreateDeployment: one active deployment per group, as CodeDeploy allows; the AppSpec
   * content is parsed (JSON or YAML) and its sha256 checked before anything is recorded.
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
    const group = this.group(region, input.applicationName, input.deploymentGroupName);
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
      description: input.description,
      revision: recorded,
      spec,
      autoRollback: input.autoRollbackConfiguration ??
        group.autoRollbackConfiguration ?? { enabled: false, events: [] },
    });
    this.launch(deployment, () => this.runBlueGreen(deployment));
    return { deploymentId: deployment.deploymentId };
  }

  private activeDeployment(group: DeploymentGroup): Deployment | undefined {
    return [...this.deployments.values()].find((d) => d.group === group && ACTIVE.has(d.status));
  }

  private record(
    region: string,
    group: DeploymentGroup,
    fields: Pick<Deployment, 'creator' | 'description' | 'revision' | 'spec' | 'autoRollback'> &
      Partial<Pick<Deployment, 'rollbackInfo'>>,
  ): Deployment {
    const deployment: Deployment = {
      region,
      deploymentId: newDeploymentId(),
      group,
      status: 'Created',
      createTimeMs: this.deps.clock.nowMs(),
      messages: [],
      instanceTerminationWaitTimeStarted: false,
      trafficShifted: false,
      stopped: false,
      readyContinued: false,
      terminationContinued: false,
      wake: new Set(),
      done: Promise.resolve(),
      ...fields,
    };
    this.deployments.set(deployment.deploymentId, deployment);
    return deployment;
  }

  private launch(deployment: Deployment, lifecycle: () => Promise<void>): void {
    // The lifecycle runs after CreateDeployment has answered, as CodeDeploy's does.
    deployment.done = new Promise<void>((resolve) => setImmediate(resolve)).then(lifecycle).catch((error) => {
      if (error instanceof Interrupted) return;
      this.fail(deployment, 'INTERNAL_ERROR', `The local CodeDeploy failed: ${(error as Error).message}`);
    });
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
    return { deploymentInfo: this.info(this.deployment(region, deploymentId)) };
  }

  /** BatchGetDeployments: at most 25 ids; ids that do not exist are left out. */
  batchGetDeployments(region: string, deploymentIds: string[] | undefined) {
    if (!deploymentIds || deploymentIds.length === 0) {
      throw new AwsError(
        'DeploymentIdRequiredException',
        'deploymentIds is required; pass 1 to 25 deployment ids.',
      );
    }
    if (deploymentIds.length > 25) {
      throw new AwsError(
        'BatchLimitExceededException',
        `deploymentIds holds ${deploymentIds.length} ids; BatchGetDeployments takes at most 25 per call.`,
      );
    }
    const infos = deploymentIds.flatMap((id) => {
      checkDeploymentId(id);
      const d = this.deployments.get(id);
      return d && d.region === region ? [this.info(d)] : [];
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
      group = this.group(region, input.applicationName, input.deploymentGroupName);
    } else if (input.applicationName !== undefined) {
      this.application(region, input.applicationName);
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

  /**
   * StopDeployment. With `autoRollbackEnabled` (or when the deployment's auto-rollback
   * covers stop requests), a rollback deployment routes traffic back to the original task
   * set and removes the replacement.
   */
  stopDeployment(region: string, deploymentId: string | undefined, autoRollbackEnabled?: boolean) {
    const deployment = this.deployment(region, deploymentId);
    if (DONE.has(deployment.status)) {
      throw new AwsError(
        'DeploymentAlreadyCompletedException',
        `Deployment ${deployment.deploymentId} has already completed (status ${deployment.status}).`,
      );
    }
    const rollback =
      autoRollbackEnabled ??
      (deployment.autoRollback.enabled &&
        deployment.autoRollback.events.includes('DEPLOYMENT_STOP_ON_REQUEST'));
    deployment.stopped = true;
    this.finish(deployment, 'Stopped', {
      code: 'MANUAL_STOP',
      message: 'The deployment was stopped by StopDeployment.',
    });
    if (rollback && deployment.creator !== 'autoRollback') {
      this.startRollback(
        deployment,
        `Automatic rollback triggered by StopDeployment on ${deployment.deploymentId}.`,
      );
    } else {
      const stopped = deployment.done.then(() => this.removeReplacement(deployment));
      deployment.done = stopped.catch(() => undefined);
    }
    this.wake(deployment);
    return { status: 'Pending', statusMessage: `Stopping deployment ${deployment.deploymentId}.` };
  }

  /**
   * ContinueDeployment: `READY_WAIT` shifts traffic now instead of waiting for the ready wait;
   * `TERMINATION_WAIT` terminates the original task set now instead of after the termination wait.
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
      if (!deployment.instanceTerminationWaitTimeStarted) {
        throw new AwsError(
          'DeploymentIsNotInReadyStateException',
          `Deployment ${deployment.deploymentId} has not started its termination wait yet (traffic has not moved); TERMINATION_WAIT applies once instanceTerminationWaitTimeStarted is true.`,
        );
      }
      deployment.terminationContinued = true;
    } else {
      throw new AwsError(
        'InvalidDeploymentWaitTypeException',
        `deploymentWaitType ${waitType} is invalid; use READY_WAIT or TERMINATION_WAIT.`,
      );
    }
    this.wake(deployment);
    return {};
  }

  /** Stops every lifecycle (the local AWS is shutting down) and waits for them to leave. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    const all = [...this.deployments.values()];
    for (const d of all) this.wake(d);
    await Promise.all(all.map((d) => d.done));
  }

  // ---- lifecycle ---------------------------------------------------------------------

  private wake(deployment: Deployment): void {
    for (const resolve of deployment.wake) resolve();
    deployment.wake.clear();
  }

  private checkInterrupted(deployment: Deployment): void {
    if (deployment.stopped || this.shuttingDown || DONE.has(deployment.status)) throw new Interrupted();
  }

  /**
   * Waits until `condition` holds (true), `timeoutMs` of scaled time passed (false), or the
   * deployment was stopped (throws). `pollMs` re-checks conditions nothing wakes us for;
   * `minRealMs` keeps a wait on real work (processes starting) from ending too soon at high scales.
   */
  private async waitFor(
    deployment: Deployment,
    condition: () => boolean | Promise<boolean>,
    timeoutMs: number | undefined,
    pollMs?: number,
    minRealMs = 0,
  ): Promise<boolean> {
    const deadline =
      timeoutMs === undefined
        ? undefined
        : this.deps.clock.nowMs() + Math.max(minRealMs, this.deps.clock.scaledMs(timeoutMs));
    for (;;) {
      this.checkInterrupted(deployment);
      if (await condition()) return true;
      const left = deadline === undefined ? undefined : deadline - this.deps.clock.nowMs();
      if (left !== undefined && left <= 0) return false;
      const realWaitMs = Math.min(
        left ?? Number.POSITIVE_INFINITY,
        pollMs === undefined ? Number.POSITIVE_INFINITY : this.deps.clock.scaledMs(pollMs),
      );
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(realWaitMs) ? setTimeout(done, realWaitMs) : undefined;
        function done() {
          clearTimeout(timer);
          deployment.wake.delete(done);
          resolve();
        }
        deployment.wake.add(done);
      });
    }
  }

  private faultsOf(deployment: Deployment) {
    const marker = parseMarker(deployment.description);
    // Faults aim at the release's own deployments; rollbacks must still be able to repair.
    if (!marker || marker.rollback || deployment.creator === 'autoRollback') return {};
    const matches = (fault: { environment: string; service: string }) =>
      fault.environment === marker.environment && fault.service === marker.service;
    return {
      failure: this.deps.faults.take('deployment-failure', matches),
      hang: this.deps.faults.take('deployment-hang', matches),
    };
  }

  private async runBlueGreen(d: Deployment): Promise<void> {
    const { ecs, clock } = this.deps;
    const [{ serviceName, clusterName }] = d.group.ecsServices;
    const faults = this.faultsOf(d);
    if (faults.failure && !(LIFECYCLE_EVENTS as readonly string[]).includes(faults.failure.lifecycleEvent)) {
      this.fail(
        d,
        'INTERNAL_ERROR',
        `The deployment-failure fault names lifecycle event ${faults.failure.lifecycleEvent}, which ECS deployments do not have; use one of ${LIFECYCLE_EVENTS.join(', ')}.`,
      );
      return;
    }
    const lifecycleEvent = (event: LifecycleEvent) => {
      this.checkInterrupted(d);
      if (faults.failure?.lifecycleEvent === event) {
        const code =
          event === 'Install'
            ? 'ECS_UPDATE_ERROR'
            : event.startsWith('Allow')
              ? 'ELB_INVALID_INSTANCE'
              : 'HOOK_EXECUTION_FAILURE';
        throw new LifecycleFailure(
          code,
          `The deployment failed at lifecycle event ${event} (fault deployment-failure injected for ${faults.failure.environment}/${faults.failure.service}).`,
        );
      }
      d.messages.push(`${event} succeeded`);
    };

    try {
      this.checkInterrupted(d);
      d.status = 'InProgress';
      d.startTimeMs = clock.nowMs();
      lifecycleEvent('BeforeInstall');

      const original = ecs.primaryTaskSet(d.region, clusterName, serviceName);
      d.originalTaskSetId = original?.id;
      if (original) {
        d.previousRevision = {
          revisionType: 'AppSpecContent',
          appSpecContent: {
            content: ecsAppSpecContent({ ...d.spec, taskDefinition: original.taskDefinition }),
          },
        };
      }
      try {
        d.replacementTaskSetId = await ecs.createTaskSet(
          d.region,
          clusterName,
          serviceName,
          d.spec.taskDefinition,
          d.deploymentId,
        );
      } catch (error) {
        if (error instanceof Interrupted) throw error;
        throw new LifecycleFailure(
          'ECS_UPDATE_ERROR',
          `The replacement task set of ${d.spec.taskDefinition} could not be created on service ${serviceName} (cluster ${clusterName}): ${(error as Error).message}`,
        );
      }
      const replacement = d.replacementTaskSetId;
      const healthy = async () =>
        !faults.hang && (await ecs.isTaskSetHealthy(d.region, clusterName, serviceName, replacement));
      // A hanging deployment waits for StopDeployment (or the caller's timeout), as a stuck one does in AWS.
      const healthTimeoutMs = faults.hang ? undefined : HEALTH_TIMEOUT_MS;
      if (!(await this.waitFor(d, healthy, healthTimeoutMs, HEALTH_POLL_MS, HEALTH_TIMEOUT_FLOOR_REAL_MS))) {
        throw new LifecycleFailure(
          'ECS_UPDATE_ERROR',
          `The replacement tasks of ${d.spec.taskDefinition} on service ${serviceName} did not become healthy within ${HEALTH_TIMEOUT_MS / 60_000} minutes; check their logs.`,
        );
      }
      lifecycleEvent('Install');
      lifecycleEvent('AfterInstall');
      lifecycleEvent('AllowTestTraffic');
      lifecycleEvent('AfterAllowTestTraffic');

      const ready = d.group.deploymentReadyOption;
      if (ready?.actionOnTimeout === 'STOP_DEPLOYMENT') {
        d.status = 'Ready';
        d.messages.push('Waiting for ContinueDeployment to reroute traffic');
        const continued = await this.waitFor(
          d,
          () => d.readyContinued,
          (ready.waitTimeInMinutes ?? 0) * 60_000,
        );
        if (!continued) {
          d.stopped = true;
          this.finish(d, 'Stopped', {
            code: 'TIMEOUT',
            message: `Traffic was not rerouted within the ready wait of ${ready.waitTimeInMinutes ?? 0} minutes (ContinueDeployment READY_WAIT).`,
          });
          await this.removeReplacement(d);
          return;
        }
        d.status = 'InProgress';
      }

      lifecycleEvent('BeforeAllowTraffic');
      await ecs.setPrimaryTaskSet(d.region, clusterName, serviceName, replacement);
      d.trafficShifted = true;
      lifecycleEvent('AllowTraffic');
      lifecycleEvent('AfterAllowTraffic');

      d.instanceTerminationWaitTimeStarted = true;
      d.messages.push('Waiting to terminate the original task set');
      await this.waitFor(
        d,
        () => d.terminationContinued,
        (d.group.terminationWaitTimeInMinutes ?? 0) * 60_000,
      );
      this.checkInterrupted(d);
      if (d.originalTaskSetId) {
        await ecs.deleteTaskSet(d.region, clusterName, serviceName, d.originalTaskSetId);
      }
      this.finish(d, 'Succeeded');
    } catch (error) {
      if (error instanceof Interrupted) return;
      const failure =
        error instanceof LifecycleFailure
          ? error
          : new LifecycleFailure(
              'INTERNAL_ERROR',
              `The local CodeDeploy failed: ${(error as Error).message}`,
            );
      this.fail(d, failure.code, failure.message);
      if (d.autoRollback.enabled && d.autoRollback.events.includes('DEPLOYMENT_FAILURE')) {
        this.startRollback(
          d,
          `Automatic rollback triggered by the failure of ${d.deploymentId}: ${failure.message}`,
        );
      } else {
        await this.removeReplacement(d);
      }
    }
  }

  private finish(d: Deployment, status: DeploymentStatus, error?: { code: string; message: string }): void {
    d.status = status;
    d.completeTimeMs = this.deps.clock.nowMs();
    if (error) {
      d.errorInformation = error;
      d.messages.push(error.message);
    }
  }

  private fail(d: Deployment, code: string, message: string): void {
    if (!DONE.has(d.status)) this.finish(d, 'Failed', { code, message });
  }

  /** Without a rollback, the original tasks keep serving: a replacement that never got traffic goes. */
  private async removeReplacement(d: Deployment): Promise<void> {
    if (this.shuttingDown || d.trafficShifted || !d.replacementTaskSetId) return;
    const [{ serviceName, clusterName }] = d.group.ecsServices;
    await this.deps.ecs.deleteTaskSet(d.region, clusterName, serviceName, d.replacementTaskSetId);
  }

  private startRollback(trigger: Deployment, message: string): void {
    const rollback = this.record(trigger.region, trigger.group, {
      creator: 'autoRollback',
      // No description: the marker of the deployment it undoes must keep naming that one only.
      description: undefined,
      revision: trigger.previousRevision ?? trigger.revision,
      spec: trigger.spec,
      autoRollback: { enabled: false, events: [] },
      rollbackInfo: { rollbackTriggeringDeploymentId: trigger.deploymentId, rollbackMessage: message },
    });
    trigger.rollbackInfo = { rollbackDeploymentId: rollback.deploymentId, rollbackMessage: message };
    const triggerDone = trigger.done;
    this.launch(rollback, async () => {
      // The stopped lifecycle may be inside an ECS call; reroute only once it has left.
      await triggerDone;
      this.checkInterrupted(rollback);
      rollback.status = 'InProgress';
      rollback.startTimeMs = this.deps.clock.nowMs();
      await this.waitFor(rollback, () => false, ROLLBACK_REROUTE_MS);
      const [{ serviceName, clusterName }] = trigger.group.ecsServices;
      const { ecs } = this.deps;
      try {
        if (trigger.trafficShifted && trigger.originalTaskSetId) {
          await ecs.setPrimaryTaskSet(rollback.region, clusterName, serviceName, trigger.originalTaskSetId);
          rollback.messages.push('Traffic rerouted to the original task set');
        }
        if (trigger.replacementTaskSetId) {
          await ecs.deleteTaskSet(rollback.region, clusterName, serviceName, trigger.replacementTaskSetId);
          rollback.messages.push('Replacement task set removed');
        }
        this.finish(rollback, 'Succeeded');
      } catch (error) {
        this.fail(
          rollback,
          'ECS_UPDATE_ERROR',
          `The rollback could not restore the original task set: ${(error as Error).message}`,
        );
      }
    });
    // The trigger's lifecycle counts as done only once its rollback is.
    trigger.done = Promise.all([triggerDone, rollback.done]).then(() => undefined);
  }

  private info(d: Deployment) {
    const overview = { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Ready: 0 };
    if (d.status === 'Created' || d.status === 'Queued') overview.Pending = 1;
    else if (d.status === 'InProgress' || d.status === 'Baking') overview.InProgress = 1;
    else if (d.status === 'Ready') overview.Ready = 1;
    else if (d.status === 'Succeeded') overview.Succeeded = 1;
    else if (d.status === 'Failed') overview.Failed = 1;
    else overview.Skipped = 1;
    return {
      applicationName: d.group.applicationName,
      deploymentGroupName: d.group.deploymentGroupName,
      deploymentConfigName: d.group.deploymentConfigName ?? 'CodeDeployDefault.ECSAllAtOnce',
      deploymentId: d.deploymentId,
      previousRevision: d.previousRevision,
      revision: d.revision,
      status: d.status,
      errorInformation: d.errorInformation,
      createTime: seconds(d.createTimeMs),
      startTime: seconds(d.startTimeMs),
      completeTime: seconds(d.completeTimeMs),
      deploymentOverview: overview,
      description: d.description,
      creator: d.creator,
      ignoreApplicationStopFailures: false,
      autoRollbackConfiguration: d.autoRollback,
      updateOutdatedInstancesOnly: false,
      rollbackInfo: d.rollbackInfo,
      ...blueGreenStyleOf(d.group),
      instanceTerminationWaitTimeStarted: d.instanceTerminationWaitTimeStarted,
      fileExistsBehavior: 'DISALLOW',
      deploymentStatusMessages: [...d.messages],
      computePlatform: 'ECS',
    };
  }
}
