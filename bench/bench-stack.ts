import { App, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  DeployOrchestrator,
  type OrchestratorEnvironment,
  type OrchestratorService,
} from '../infra/deploy-orchestrator.js';
import type { CutOverMode } from '../infra/orchestrator-props.js';
import type { DeployConfig } from '../lambdas/shared/config.js';

/** The container every task definition of the bench stack names. */
export const BENCH_CONTAINER = 'app';

/** The port the AppSpec names; no container listens on it (see `BenchStack`). */
export const BENCH_PORT = 8080;

/** Props of {@link BenchStack}: the shape of the release the bench measures. */
export interface BenchStackProps extends StackProps {
  /** How many environments (named `e00`, `e01`...). */
  readonly environments: number;
  /** How many services per environment (named `s00`, `s01`...; `s00` is a worker, the rest web). */
  readonly services: number;
  /** The time scale the local AWS runs at: the task commands sleep for simulated durations divided by it. */
  readonly timeScale: number;
  /** How long (simulated) every migration runs. */
  readonly migration: Duration;
  /** The migration's command instead of a sleep of `migration`. */
  readonly migrationCommand?: string[];
  /** How long (simulated) the pre-deploy step and the post-deploy step run. */
  readonly step: Duration;
  /**
   * The deployment groups' ready wait: traffic moves only on ContinueDeployment (the bench
   * plays the operator who approves it), and the deployment stops when the wait runs out.
   * @default - no ready wait: traffic moves as soon as the replacement runs
   */
  readonly readyWait?: Duration;
  /**
   * How the orchestrator moves traffic: `independent` leaves each deployment's ready wait to
   * the bench (the operator above); `together` has stepdeploy continue them all once Ready.
   * @default 'independent'
   */
  readonly cutover?: CutOverMode;
  /** @default the construct's default (5 s) */
  readonly pollInterval?: Duration;
  /** @default the construct's default (10 min) */
  readonly watchTimeout?: Duration;
}

/** Names of the bench environments and services, in order. */
export function benchNames(environments: number, services: number) {
  const pad = (index: number) => String(index).padStart(2, '0');
  return {
    environments: Array.from({ length: environments }, (_, index) => `e${pad(index)}`),
    services: Array.from({ length: services }, (_, index) => `s${pad(index)}`),
  };
}

/** A command that runs for `duration` of simulated time at `timeScale`. */
export function sleepCommand(duration: Duration, timeScale: number): string[] {
  const seconds = duration.toMilliseconds() / 1000 / timeScale;
  return ['sleep', seconds.toFixed(3)];
}

/**
 * The release the bench measures, built with the `DeployOrchestrator` like the sample
 * stack but with N environments of M services, and work of known length: migrations and
 * steps are `sleep`s of the simulated duration, and services are `sleep` processes (no
 * port mapping, so the local CodeDeploy's health check is "the process runs"), which lets
 * 20 x 20 services run as 800 cheap processes on one machine.
 */
export class BenchStack extends Stack {
  /** The orchestrator under measurement. */
  public readonly orchestrator: DeployOrchestrator;
  private readonly taskRole: iam.IRole;
  private readonly executionRole: iam.IRole;
  private readonly deployRole: iam.IRole;

  constructor(scope: Construct, id: string, props: BenchStackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: [`${this.region}a`, `${this.region}b`],
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
    });
    // Shared roles keep 20 x 20 at a few thousand resources rather than over a thousand more roles.
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.deployRole = new iam.Role(this, 'CodeDeployRole', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AWSCodeDeployRoleForECS')],
    });
    const names = benchNames(props.environments, props.services);
    const environments = names.environments.map((env) =>
      this.addEnvironment(vpc, env, names.services, props),
    );
    this.orchestrator = new DeployOrchestrator(this, 'Deploy', {
      environments,
      preDeploySteps: [
        { name: 'assets', container: BENCH_CONTAINER, command: sleepCommand(props.step, props.timeScale) },
      ],
      postDeploySteps: [
        {
          name: 'tag-release',
          container: BENCH_CONTAINER,
          command: sleepCommand(props.step, props.timeScale),
        },
      ],
      pollInterval: props.pollInterval,
      watchTimeout: props.watchTimeout,
      cutover: props.cutover ?? 'independent',
      tracingEnabled: false,
    });
  }

  private addEnvironment(
    vpc: ec2.IVpc,
    name: string,
    services: string[],
    props: BenchStackProps,
  ): OrchestratorEnvironment {
    const cluster = new ecs.Cluster(this, `${name}Cluster`, { vpc, clusterName: `bench-${name}` });
    const logGroup = new logs.LogGroup(this, `${name}Logs`, {
      logGroupName: `/bench/${name}`,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const securityGroup = new ec2.SecurityGroup(this, `${name}Sg`, { vpc });
    const taskDefinition = (id: string, family: string, command: string[]) => {
      const definition = new ecs.FargateTaskDefinition(this, id, {
        family,
        cpu: 256,
        memoryLimitMiB: 512,
        taskRole: this.taskRole,
        executionRole: this.executionRole,
      });
      definition.addContainer(BENCH_CONTAINER, {
        image: ecs.ContainerImage.fromRegistry('bench/app:initial'),
        command,
        environment: { APP_ENV: name },
        logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'app' }),
        stopTimeout: Duration.seconds(2),
      });
      return definition;
    };
    const oneOff = taskDefinition(`${name}OneOff`, `bench-${name}-one-off`, ['true']);
    const application = new codedeploy.EcsApplication(this, `${name}App`, {
      applicationName: `bench-${name}`,
    });
    const alb = new elbv2.ApplicationLoadBalancer(this, `${name}Alb`, { vpc });
    const service = (serviceName: string, index: number): OrchestratorService => {
      const id = `${name}${serviceName}`;
      const fargate = new ecs.FargateService(this, `${id}Service`, {
        cluster,
        serviceName,
        taskDefinition: taskDefinition(`${id}Task`, `${name}-${serviceName}`, ['sleep', 'infinity']),
        desiredCount: 1,
        deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
        securityGroups: [securityGroup],
        assignPublicIp: true,
      });
      const targetGroup = (color: string) =>
        new elbv2.ApplicationTargetGroup(this, `${id}${color}`, {
          vpc,
          port: BENCH_PORT,
          protocol: elbv2.ApplicationProtocol.HTTP,
          targetType: elbv2.TargetType.IP,
        });
      const blue = targetGroup('Blue');
      const listener = alb.addListener(`${serviceName}Listener`, {
        port: 10_000 + index,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultTargetGroups: [blue],
      });
      const deploymentGroup = new codedeploy.EcsDeploymentGroup(this, `${id}Group`, {
        application,
        role: this.deployRole,
        deploymentGroupName: `bench-${name}-${serviceName}`,
        service: fargate,
        blueGreenDeploymentConfig: {
          blueTargetGroup: blue,
          greenTargetGroup: targetGroup('Green'),
          listener,
          deploymentApprovalWaitTime: props.readyWait,
          terminationWaitTime: Duration.minutes(5),
        },
        deploymentConfig: codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
        autoRollback: { failedDeployment: true, stoppedDeployment: true },
      });
      return {
        name: serviceName,
        role: index === 0 ? 'worker' : 'web',
        service: fargate,
        deploymentGroup,
        container: BENCH_CONTAINER,
        containerPort: BENCH_PORT,
      };
    };
    return {
      name,
      cluster,
      network: {
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        securityGroups: [securityGroup],
        assignPublicIp: true,
      },
      migration: {
        taskDefinition: oneOff,
        container: BENCH_CONTAINER,
        command: props.migrationCommand ?? sleepCommand(props.migration, props.timeScale),
      },
      services: services.map(service),
    };
  }
}

/** Id of the bench stack in its app. */
export const BENCH_STACK_ID = 'StepdeployBench';

/** The bench stack's CloudFormation template, bundling skipped (the local AWS runs the handlers from source), and the orchestrator's configuration. */
export function synthesizeBenchTemplate(props: BenchStackProps): {
  template: Record<string, unknown>;
  config: DeployConfig;
} {
  // 20 x 20 is several thousand resources: in AWS it would span stacks; one template serves the local AWS.
  const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new BenchStack(app, BENCH_STACK_ID, {
    env: { account: '000000000000', region: 'us-east-1' },
    ...props,
  });
  Validations.of(stack).acknowledge({
    id: 'CloudFormation-Validate::F0007',
    reason: 'The bench deploys 20 x 20 as one template on the local AWS; in AWS it would span stacks.',
  });
  const template = app.synth({ validateOnSynthesis: false }).getStackArtifact(stack.artifactId)
    .template as Record<string, unknown>;
  return { template, config: stack.orchestrator.config };
}
