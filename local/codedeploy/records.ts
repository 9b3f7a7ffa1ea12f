import { randomBytes } from 'node:crypto';
import { AwsError } from '../aws-error.js';
import type { EcsAppSpec } from './appspec.js';

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
  /** The service's ARN and its task sets with their task counts, as a deployment target reports them. */
  describeService(
    region: string,
    cluster: string,
    service: string,
  ): { serviceArn: string; taskSets: TaskSetCounts[] } | undefined;
}

/** One task set of a service, counted. */
export interface TaskSetCounts {
  id: string;
  status: string;
  desiredCount: number;
  pendingCount: number;
  runningCount: number;
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

/** A deployment group as the model keeps it. */
export interface DeploymentGroup extends DeploymentGroupInput {
  region: string;
  deploymentGroupId: string;
  deploymentConfigName: string;
  targetRevision?: Revision;
}

/** An application as the model keeps it. */
export interface Application {
  region: string;
  applicationId: string;
  applicationName: string;
  createTimeMs: number;
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

/** Statuses of a deployment that has not finished: CodeDeploy allows one per group. */
export const ACTIVE: ReadonlySet<DeploymentStatus> = new Set([
  'Created',
  'Queued',
  'InProgress',
  'Baking',
  'Ready',
]);
/** Statuses of a deployment that has finished. */
export const DONE: ReadonlySet<DeploymentStatus> = new Set(['Succeeded', 'Failed', 'Stopped']);

/** Statuses of a deployment target (`ECSTarget.status`). */
export type TargetStatus =
  | 'Pending'
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'Skipped'
  | 'Unknown'
  | 'Ready';

/** Statuses of one lifecycle event of a target (`LifecycleEvent.status`). */
export type LifecycleEventStatus = 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' | 'Unknown';

/** One lifecycle event of a deployment's ECS target. */
export interface LifecycleEventRecord {
  name: LifecycleEvent;
  status: LifecycleEventStatus;
  startTimeMs?: number;
  endTimeMs?: number;
  diagnostics?: { errorCode: string; message: string };
}

/** The one target of an ECS deployment: its service, with a status of its own. */
export interface TargetRecord {
  status: TargetStatus;
  lastUpdatedAtMs: number;
  events: LifecycleEventRecord[];
}

/** A revision as CodeDeploy records it. */
export interface Revision {
  revisionType: 'AppSpecContent';
  appSpecContent: { content: string; sha256?: string };
}

/** Who made a deployment, as `creator` reports it. */
export type Creator = 'user' | 'codeDeployRollback';

/** One deployment and the state its lifecycle keeps. */
export interface Deployment {
  region: string;
  deploymentId: string;
  group: DeploymentGroup;
  status: DeploymentStatus;
  creator: Creator;
  deploymentConfigName: string;
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
  target: TargetRecord;
  originalTaskSetId?: string;
  replacementTaskSetId?: string;
  /** Percent of production traffic the replacement task set receives. */
  replacementWeight: number;
  /** Every bit of production traffic reached the replacement task set. */
  trafficShifted: boolean;
  /** Set by StopDeployment (or the local AWS shutting down): the lifecycle leaves at its next step. */
  stopped: boolean;
  /** StopDeployment came in; the deployment turns Stopped a little later, as CodeDeploy's does. */
  stopRequested: boolean;
  readyContinued: boolean;
  terminationContinued: boolean;
  /** Wakes the lifecycle from its waits when StopDeployment or ContinueDeployment came in. */
  wake: Set<() => void>;
  /** Settles when the lifecycle has left (whatever the outcome). */
  done: Promise<void>;
}

/** Thrown inside a lifecycle when the deployment was stopped or the local AWS shuts down. */
export class Interrupted extends Error {}

/** A lifecycle step failed: the deployment ends Failed with this error information. */
export class LifecycleFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly event?: LifecycleEvent,
  ) {
    super(message);
  }
}

/** Epoch seconds, as CodeDeploy's timestamps go on the wire. */
export const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/** A new deployment id: `d-` and nine upper-case letters or digits. */
export function newDeploymentId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `d-${[...randomBytes(9)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
}

/** A malformed deployment id is CodeDeploy's `InvalidDeploymentIdException`. */
export function checkDeploymentId(id: string): void {
  if (!/^d-[A-Z0-9]{9}$/.test(id)) {
    throw new AwsError(
      'InvalidDeploymentIdException',
      `${id} is not a deployment id (d- and 9 letters or digits).`,
    );
  }
}

/** A target that has not started: every lifecycle event Pending. */
export function pendingTarget(nowMs: number): TargetRecord {
  return {
    status: 'Pending',
    lastUpdatedAtMs: nowMs,
    events: LIFECYCLE_EVENTS.map((name) => ({ name, status: 'Pending' })),
  };
}

/** The blue/green settings of a group, as both GetDeploymentGroup and GetDeployment report them. */
export function blueGreenStyleOf(group: DeploymentGroup) {
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
