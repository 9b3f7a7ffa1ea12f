/**
 * The shapes the state machine carries between states. Ids and ARNs only: the
 * state stays small however many environments and services there are.
 */

/** What every execution input has: the run's name, and where it goes. */
interface InputCommon {
  /** Names the run and marks everything it starts. */
  release: string;
  /** The environments to deploy to; every configured one when absent. */
  environments?: string[];
}

/** The execution input of a release of new images. */
export interface NewReleaseInput extends InputCommon {
  /** Container name to image URI. */
  images: Record<string, string>;
  skipMigrations?: boolean;
  rollbackTo?: undefined;
}

/**
 * The execution input of a rollback to an earlier release: every service gets the task
 * definition revision that release registered again; no steps, no migrations.
 */
export interface RollbackInput extends InputCommon {
  /** The release whose revisions to deploy; it must have succeeded. */
  rollbackTo: string;
  images?: undefined;
  skipMigrations?: undefined;
}

/** The execution input, as validated by Plan: a release of new images, or a rollback to an earlier one. */
export type ReleaseInput = NewReleaseInput | RollbackInput;

/** A task definition revision as `family:revision`. */
export type Revision = string;

/** A task definition's full ARN (`arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>`). */
export type TaskDefinitionArn = string;

/** Output of Plan, kept at `$.plan`. */
export interface Plan {
  release: string;
  /** `startedBy` of every task this run starts (36 characters at most, as ECS allows). */
  runId: string;
  /** ISO time Plan ran; deployments of this run were created after it. */
  startedAt: string;
  /**
   * The AWS account of the clusters, from the task definition ARNs Plan read: with each
   * environment's Region it makes the task definition ARNs the AppSpecs name.
   */
  account: string;
  environments: string[];
  skipMigrations: boolean;
  /** Per environment: the new revision of the one-off task definition (migration and steps); empty for a rollback. */
  oneOff: Record<string, Revision>;
  /**
   * Per environment, per service: the revision number running now (rollback target) and the
   * new one, of the service's configured task definition family (`serviceRevision` joins them).
   * A pair rather than an object: at 400 services the names would be most of the plan.
   */
  services: Record<string, Record<string, ServiceRevisions>>;
  /**
   * The waves the deployments go out in, in order, each with the environments of the run it
   * holds and how its traffic moves. Absent in plans made before waves: one wave of every
   * environment, cut over independently.
   */
  waves?: PlannedWave[];
  /**
   * Set on a rollback: the earlier release whose revisions this run deploys (`next` of every
   * service is that release's revision). The run starts no task.
   */
  rollbackTo?: string;
  /**
   * The termination waits of earlier releases' deployments Plan ended so this release can
   * deploy (their traffic had moved; CodeDeploy then terminates their original tasks).
   * Absent when there were none.
   */
  endedWaits?: EndedWait[];
}

/** The deployments of one earlier release whose termination wait Plan ended, per environment and service. */
export interface EndedWait {
  release: string;
  deployments: DeploymentIds;
}

/** How the deployments of a wave move production traffic. */
export type CutOver =
  /** Every deployment waits in its ready wait; traffic moves on all of them at once, or on none. */
  | 'together'
  /** Each deployment moves traffic on its own schedule (no ready wait, or one someone else ends). */
  | 'independent';

/** One wave of the plan. */
export interface PlannedWave {
  environments: string[];
  cutover: CutOver;
}

/** Revision numbers of one service's task definition family: the one running before the release and the release's. */
export type ServiceRevisions = [previous: number, next: number];

/** The three task phases; they share one fragment and one pair of handlers. */
export type Phase = 'pre-deploy' | 'migrate' | 'post-deploy';

/** Aggregate status of a phase or of the deployments. */
export type AggregateStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * Status of a wave's deployments: an aggregate, or READY when every deployment of a wave that
 * cuts over together waits in its ready wait (healthy, no production traffic) for CutOver.
 */
export type DeployStatus = AggregateStatus | 'READY';

/** One task a phase started. */
export interface TaskRef {
  environment: string;
  /** The step name, or `migrate`. */
  step: string;
  taskArn: string;
}

/** Where a task's output goes; returned by StartTasks so followers find the streams. */
export interface TaskLog {
  logGroup: string;
  logStream: string;
  region: string;
}

/** Why a task failed. */
export interface TaskFailure {
  environment: string;
  step: string;
  taskArn?: string;
  /** Exit code of the essential container; null when it has none. */
  exitCode: number | null;
  stopCode?: string;
  reason: string;
}

/** Output of StartTasks (with logs), CheckTasks (without) and StopTasks, kept at `$.<phase>`. */
export interface TaskPhaseState {
  phase: Phase;
  tasks: Array<TaskRef & { log?: TaskLog }>;
  status: AggregateStatus;
  failures: TaskFailure[];
  /** How many failures `failures` leaves out (it lists the first ones only: the state has a size limit). */
  omittedFailures?: number;
  /**
   * ISO time StartTasks started the phase's tasks: DescribeTasks may not show a task yet right
   * after RunTask (ECS is eventually consistent), so a task missing soon after is still starting.
   */
  startedAt?: string;
  /** Set by StopTasks: the tasks it asked ECS to stop. */
  stopped?: string[];
}

/** One deployment of the run. */
export interface DeploymentRef {
  environment: string;
  service: string;
  deploymentId: string;
}

/** Deployment ids per environment, per service: the names are not repeated for every deployment. */
export type DeploymentIds = Record<string, Record<string, string>>;

/** Why a deployment failed. */
export interface DeploymentFailure extends DeploymentRef {
  status: string;
  reason: string;
}

/** An alarm of an environment that went into ALARM while a wave was out. */
export interface AlarmBreach {
  environment: string;
  alarmName: string;
  /** ISO time it went into ALARM (or was seen in it). */
  at: string;
  reason: string;
}

/** Where the release is with the wave it deploys now. */
export interface WaveProgress {
  /** Index of the wave in the plan's waves. */
  index: number;
  /** How many waves the plan has. */
  of: number;
  /** The wave's environments. */
  environments: string[];
  cutover: CutOver;
  /** ISO time StartDeployments began the wave: an alarm that went into ALARM since fails it. */
  startedAt: string;
  /** ISO time CutOver continued the wave's deployments (cut-over together). */
  cutOverAt?: string;
  /** ISO time traffic had moved on every deployment of the wave: its bake runs from then. */
  trafficMovedAt?: string;
}

/** Output of StartDeployments, CheckDeployments and CutOver, kept at `$.deploy`. */
export interface DeployState {
  /** Per environment, per service: the deployment id of every wave so far (`deploymentRefs` lists them). */
  deployments: DeploymentIds;
  /**
   * Of the current wave's deployments: SUCCEEDED once every one succeeded or is only waiting
   * to terminate its original tasks; READY when all wait for CutOver.
   */
  status: DeployStatus;
  failures: DeploymentFailure[];
  /** How many failures `failures` leaves out (it lists the first ones only: the state has a size limit). */
  omittedFailures?: number;
  /**
   * ISO time the deployments were first looked at (set by the first check): BatchGetDeployments
   * may not return a deployment right after CreateDeployment, so one missing soon after is not failed.
   */
  watchedSince?: string;
  /** The current wave. Absent in states made before waves: one wave of every deployment. */
  wave?: WaveProgress;
  /** Alarms of the wave's environments that went into ALARM since the wave began (they fail it). */
  alarms?: AlarmBreach[];
}

/** Output of Bake, kept at `$.bake`: the bake of the wave `$.deploy` deployed. */
export interface BakeState {
  /** Index of the wave baking. */
  wave: number;
  /** RUNNING while baking; SUCCEEDED once the bake time passed without an alarm; FAILED on an alarm. */
  status: AggregateStatus;
  /** ISO time the bake ends. */
  until: string;
  alarms: AlarmBreach[];
  /** Index of the wave to deploy next, once this one baked; absent after the last wave. */
  nextWave?: number;
}

/** How one deployment is rolled back. */
export type RollbackAction =
  /** In flight: StopDeployment with autoRollbackEnabled. */
  | 'stop'
  /** Already succeeded: a new deployment of the previous revision. */
  | 'redeploy'
  /** CodeDeploy already rolled it back: follow that rollback deployment. */
  | 'adopt'
  /** Failed or stopped before traffic moved: the original tasks still serve. */
  | 'none';

/** One rollback. */
export interface RollbackRef extends DeploymentRef {
  action: RollbackAction;
  /** The deployment that carries the rollback, when there is one. */
  rollbackDeploymentId?: string;
  /** The deployment's status when RollBack looked, which decided the action (InProgress, Ready, Succeeded...). */
  deploymentStatus?: string;
  /** Terminal status once known (Succeeded, Failed, Stopped). */
  status?: string;
  /**
   * Once the rollback ended: true when the group is back on the previous revision (or never
   * left it), false when it is not (the stop came too late, the rollback deployment failed, or
   * CodeDeploy does not know the deployment).
   */
  back?: boolean;
}

/**
 * What the rollbacks came to: RUNNING while any is in flight; SUCCEEDED when all are back; FAILED
 * when one did not get back; REDEPLOY when every one ended and those that did not get back can
 * still be brought back by a deployment of the previous revision (RollBack does that next).
 */
export type RollbackStatus = AggregateStatus | 'REDEPLOY';

/** Output of RollBack and AwaitRollbacks, kept at `$.rollback`. */
export interface RollbackState {
  rollbacks: RollbackRef[];
  status: RollbackStatus;
  /** Environments of earlier waves that keep the release (`rollbackScope: 'wave'`). */
  kept?: string[];
}

/** Output of RetireOldWorkers, kept at `$.retire`. */
export interface RetireReport {
  workers: Array<{
    environment: string;
    service: string;
    /** The worker's deployment of this run, when it has one. */
    deploymentId?: string;
    /** `continue-deployment`: its termination wait was ended, so CodeDeploy stops the original tasks now. */
    action: 'continue-deployment' | 'none';
    /** Why, in a few words (such as "the deployment already succeeded"). */
    reason: string;
  }>;
}

/** The outcome Announce reports and the final Choice branches on. */
export type Outcome = 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK';

/** What a caught error looks like in the state (`$.error`). */
export interface CaughtError {
  Error: string;
  Cause: string;
}

/** Output of Announce, kept at `$.announce`. */
export interface Announcement {
  outcome: Outcome;
  detailType: 'Release Succeeded' | 'Release Failed' | 'Release Rolled Back';
  summary: string;
  /** Set when the outcome is not SUCCEEDED: the Fail state's error and cause. */
  error?: string;
  cause?: string;
}

/** The whole state of a run, as every state of the flow sees it (`$`). */
export interface RunState {
  release: string;
  images?: Record<string, string>;
  environments?: string[];
  skipMigrations?: boolean;
  rollbackTo?: string;
  plan?: Plan;
  preDeploy?: TaskPhaseState;
  migrate?: TaskPhaseState;
  postDeploy?: TaskPhaseState;
  deploy?: DeployState;
  bake?: BakeState;
  rollback?: RollbackState;
  retire?: RetireReport;
  /** A caught error that ends the run. */
  error?: CaughtError;
  /** Caught errors that are reported but do not fail the run. */
  retireError?: CaughtError;
  postDeployError?: CaughtError;
  announce?: Announcement;
}
