import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';

/** Where an environment's one-off tasks (migration, steps) run. */
export interface OrchestratorNetwork {
  /**
   * The VPC of the subnets.
   * @default - the cluster's VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets one-off tasks run in: a selection of the VPC's (it may list subnets).
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The security groups of one-off tasks.
   * @default - none: ECS uses the VPC's default security group
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Whether one-off tasks get a public IP (needed in public subnets without a NAT gateway).
   * @default false
   */
  readonly assignPublicIp?: boolean;
}

/** The database migration of an environment, run as a one-off ECS task before the deployments. */
export interface OrchestratorMigration {
  /** The task definition the migration (and, unless set otherwise, every step) runs from; Plan registers a revision of it with the new images. */
  readonly taskDefinition: ecs.TaskDefinition;
  /** The container of that task definition that runs the command. */
  readonly container: string;
  /** The command, replacing the container's. */
  readonly command: string[];
}

/** One service of an environment, deployed blue/green by CodeDeploy. */
export interface OrchestratorService {
  /** Logical name, unique within the environment (`web`, `worker`): it appears in markers and reports. */
  readonly name: string;
  /**
   * `worker` services have their old tasks retired as soon as every deployment succeeded.
   * @default 'web'
   */
  readonly role?: 'web' | 'worker';
  /** The ECS service; its task definition gets a new revision with the new images. */
  readonly service: ecs.BaseService;
  /** The CodeDeploy deployment group that deploys the service. */
  readonly deploymentGroup: codedeploy.IEcsDeploymentGroup;
  /** The container that receives traffic, named in the AppSpec. */
  readonly container: string;
  /** The port of that container, named in the AppSpec. */
  readonly containerPort: number;
}

/** One production environment: a cluster, its network, its migration and its services. */
export interface OrchestratorEnvironment {
  /** Logical name, unique among the environments (`us`, `eu`): the execution input picks environments by it. */
  readonly name: string;
  /** The ECS cluster one-off tasks run in and the services belong to. */
  readonly cluster: ecs.ICluster;
  /**
   * The Region of the cluster and deployment groups.
   * @default - the stack's Region
   */
  readonly region?: string;
  /**
   * Where one-off tasks run, when their task definition uses the `awsvpc` network mode (the
   * only one RunTask takes a network configuration for; Fargate requires it). Refused for
   * any other network mode: those tasks use the network of the instance they run on.
   * @default - awsvpc: the cluster VPC's private subnets, the VPC's default security group, no
   * public IP; other network modes: no network configuration
   */
  readonly network?: OrchestratorNetwork;
  /**
   * How one-off tasks are launched. Set either this or `capacityProviderStrategy`.
   * @default - ecs.LaunchType.FARGATE, unless `capacityProviderStrategy` is set
   */
  readonly launchType?: ecs.LaunchType;
  /**
   * The capacity providers one-off tasks run on, instead of a launch type: a cluster that
   * scales its EC2 instances with capacity providers (cluster auto scaling) needs it, since
   * a task launched by launch type does not make the cluster scale. The providers must be
   * associated with the cluster. 1-20 providers, at most one with a `base`.
   * @default - none: one-off tasks are launched by `launchType`
   */
  readonly capacityProviderStrategy?: ecs.CapacityProviderStrategy[];
  /**
   * The database migration.
   * @default - none: the migrate phase runs nothing in this environment
   */
  readonly migration?: OrchestratorMigration;
  /**
   * The task definition pre- and post-deploy steps run from.
   * @default - the migration's task definition (required when there is no migration)
   */
  readonly oneOffTaskDefinition?: ecs.TaskDefinition;
  /** The services deployed in this environment (one at least). */
  readonly services: OrchestratorService[];
  /**
   * The wave the environment is deployed in: waves go out in ascending order, each once the one
   * before it deployed and baked (`bakeTime`). Environments of one wave deploy together.
   * Pre-deploy steps and migrations run in every environment before the first wave.
   * @default 0
   */
  readonly wave?: number;
  /**
   * CloudWatch alarms watched while the environment's wave deploys and bakes, in the
   * environment's Region: one in ALARM, or that went into ALARM at any time since the wave
   * began, fails the wave and the run rolls back (`rollbackScope`).
   * @default - none
   */
  readonly alarms?: cloudwatch.IAlarm[];
}

/** How the deployments of a wave move production traffic. */
export type CutOverMode =
  /**
   * Every deployment of the wave waits in its ready wait (its group has a
   * `deploymentApprovalWaitTime`) until all of them are Ready, then they are continued at
   * once; if one fails first, every one is stopped and no production traffic moved.
   */
  | 'together'
  /** Each deployment moves its traffic as soon as its replacement is ready. */
  | 'independent';

/** What a failure in a wave rolls back. */
export type RollbackScope =
  /** Every deployment of the run: the failing wave and every wave released before it. */
  | 'all'
  /** The failing wave only; the waves released before it keep the release. */
  | 'wave';

/** A pre- or post-deploy step: a command run as a one-off task in every environment. */
export interface OrchestratorStep {
  /** Unique name among the steps of its phase (`assets`): it appears in tags and reports. */
  readonly name: string;
  /** The container of the one-off task definition that runs the command. */
  readonly container: string;
  /** The command, replacing the container's. */
  readonly command: string[];
}

/** Options of the CodePipeline action that starts a release. */
export interface ReleaseActionOptions {
  /** The artifact that holds the execution input file (a build or source output). */
  readonly input: codepipeline.Artifact;
  /**
   * Path of the execution input JSON inside the artifact.
   * @default 'release.json'
   */
  readonly fileName?: string;
  /**
   * Name of the action in the pipeline.
   * @default 'Release'
   */
  readonly actionName?: string;
  /**
   * Prefix of the execution names the action starts: CodePipeline names each execution
   * `<prefix>-<36-character action execution id>` and Step Functions takes 80 characters,
   * so at most 43 of A-Z a-z 0-9 - and _.
   * @default - CodePipeline's own naming: the action execution id alone
   */
  readonly executionNamePrefix?: string;
  /**
   * Order of the action in its stage.
   * @default 1
   */
  readonly runOrder?: number;
}

/** Props of {@link DeployOrchestrator}. */
export interface DeployOrchestratorProps {
  /** The environments a release goes to (one at least); the execution input may pick a subset. */
  readonly environments: OrchestratorEnvironment[];
  /**
   * Steps run in every environment before the migrations; one failure fails the release.
   * @default - none
   */
  readonly preDeploySteps?: OrchestratorStep[];
  /**
   * Steps run in every environment once the release is out; a failure is reported, never rolled back.
   * @default - none
   */
  readonly postDeploySteps?: OrchestratorStep[];
  /**
   * Time between two looks at tasks or deployments inside one check.
   * @default Duration.seconds(5)
   */
  readonly pollInterval?: Duration;
  /**
   * How long one check invocation keeps watching before it hands back to the state
   * machine; the check functions time out 60 s later, so at most 14 minutes.
   * @default Duration.minutes(10)
   */
  readonly watchTimeout?: Duration;
  /**
   * How long a deployment may stay in flight, traffic not moved, before CheckDeployments fails
   * the run (naming the groups still in flight) and every group is rolled back. CodeDeploy itself
   * fails an ECS deployment whose replacement tasks stay unhealthy after about an hour; this bounds
   * what it does not, such as a ready wait nobody continues or a slow linear configuration.
   * @default Duration.hours(2)
   */
  readonly deploymentTimeout?: Duration;
  /**
   * How each wave moves production traffic. `together` needs every deployment group to wait
   * in Ready (its `blueGreenDeploymentConfig.deploymentApprovalWaitTime`, long enough for the
   * slowest replacement of the wave to become healthy); synth fails for a group of this stack
   * without it, and Plan refuses a run for an imported group without it.
   * @default - together for each wave whose deployment groups all have a deployment approval
   * wait (imported groups: as Plan finds them), independent for the others
   */
  readonly cutover?: CutOverMode;
  /**
   * How long each wave bakes once its traffic moved and its old workers were retired, its
   * environments' `alarms` watched, before the next wave starts.
   * @default Duration.seconds(0)
   */
  readonly bakeTime?: Duration;
  /**
   * What a failed deployment, cut-over or bake rolls back.
   * @default 'all'
   */
  readonly rollbackScope?: RollbackScope;
  /**
   * What a release does about an earlier release's deployments still in their termination
   * wait (traffic moved, the original tasks kept for the rollback window) on its deployment
   * groups: `continue` ends that wait (ContinueDeployment TERMINATION_WAIT, so CodeDeploy
   * terminates the earlier release's original tasks) and goes on; `refuse` fails the release
   * before anything starts, naming them. Any other active deployment is refused either way.
   * @default 'continue'
   */
  readonly onPreviousTerminationWait?: 'continue' | 'refuse';
  /**
   * The bus announcements go to.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How long a whole run may take before Step Functions times it out (the cleanup then runs).
   * @default Duration.hours(6)
   */
  readonly timeout?: Duration;
  /**
   * Whether the state machine sends traces to X-Ray.
   * @default true
   */
  readonly tracingEnabled?: boolean;
  /**
   * How long the state machine's and the handlers' logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The least severe handler log lines that reach CloudWatch Logs: Lambda's application log
   * level, which the handlers' logger honours (`AWS_LAMBDA_LOG_LEVEL`). Lambda's own lines
   * follow it: DEBUG and TRACE show its debug events too, WARN and above hide its START and
   * REPORT lines. The functions log in Lambda's JSON format.
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly logLevel?: lambda.ApplicationLogLevel;
}
