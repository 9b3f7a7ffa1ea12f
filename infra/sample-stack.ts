import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipelineActions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DeployOrchestrator, type OrchestratorEnvironment } from './deploy-orchestrator.js';
import { acknowledgeWildcards } from './nag.js';

/** The environments of the demo application. */
export const SAMPLE_ENVIRONMENTS = ['us', 'eu', 'au'] as const;

/**
 * The wave of each environment: `us` is the canary that proves a release (wave 0), then `eu`
 * and `au` go out together (wave 1), their groups waiting in Ready so that they cut over at once.
 */
export const SAMPLE_WAVES: Record<(typeof SAMPLE_ENVIRONMENTS)[number], number> = { us: 0, eu: 1, au: 1 };

/** How long each wave of the demo bakes: 6 s at the demo's time scale, time to set an alarm meanwhile. */
export const SAMPLE_BAKE_TIME = Duration.minutes(2);

/** The name of an environment's alarm (5xx answers of its load balancer's targets). */
export const sampleAlarmName = (environment: string) => `stepdeploy-demo-${environment}-5xx`;

/** The image every container starts from; a release replaces it. */
export const SAMPLE_IMAGE = 'stepdeploy-demo/app:initial';

/** The container name of every task definition of the demo. */
export const SAMPLE_CONTAINER = 'app';

/** Ports of the demo's services. */
export const SAMPLE_PORTS = { web: 3000, worker: 4000 } as const;

/**
 * Entry point of the worker container. ECS stops a container with SIGTERM, but the
 * demo worker drains its queue on SIGQUIT: this shell forwards the one as the other
 * and waits for the worker to finish (within the container's stopTimeout).
 */
export const WORKER_ENTRYPOINT = [
  'sh',
  '-c',
  '"$@" & child=$!; trap \'kill -QUIT "$child"\' TERM; wait "$child"; code=$?; ' +
    'if kill -0 "$child" 2>/dev/null; then wait "$child"; code=$?; fi; exit "$code"',
  'worker-entrypoint',
];

/** The demo app's scripts, run from the repository root. */
const SCRIPTS = {
  web: ['node', 'examples/demo/app/web.mjs'],
  worker: ['node', 'examples/demo/app/worker.mjs'],
  migrate: ['node', 'examples/demo/app/migrate.mjs'],
  assets: ['node', 'examples/demo/app/upload-assets.mjs'],
  tagRelease: ['node', 'examples/demo/app/tag-release.mjs'],
};

/** Props of {@link SampleStack}. */
export interface SampleStackProps extends StackProps {
  /**
   * Time between two looks at tasks or deployments inside one check.
   * @default Duration.seconds(5)
   */
  readonly pollInterval?: Duration;
}

/**
 * The demo's infrastructure: environments `us`, `eu` and `au`, each an ECS cluster
 * with a `web` and a `worker` service behind CodeDeploy blue/green deployment groups,
 * a one-off task definition for the migration and steps, and an alarm on its load
 * balancer's 5xx answers; the `DeployOrchestrator` that releases to all of them in two
 * waves (`us`, then `eu` and `au` cut over together); and a pipeline that starts a release
 * from an S3 upload.
 */
export class SampleStack extends Stack {
  /** The orchestrator. */
  public readonly orchestrator: DeployOrchestrator;

  constructor(scope: Construct, id: string, props: SampleStackProps = {}) {
    super(scope, id, props);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    Validations.of(vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'The sample names its two zones so that synthesizing never looks anything up.',
    });

    const environments = SAMPLE_ENVIRONMENTS.map((name) => this.addEnvironment(vpc, name));

    this.orchestrator = new DeployOrchestrator(this, 'Deploy', {
      environments,
      preDeploySteps: [{ name: 'assets', container: SAMPLE_CONTAINER, command: SCRIPTS.assets }],
      postDeploySteps: [{ name: 'tag-release', container: SAMPLE_CONTAINER, command: SCRIPTS.tagRelease }],
      pollInterval: props.pollInterval,
      bakeTime: SAMPLE_BAKE_TIME,
    });

    this.pipeline();
    this.acknowledgeNagFindings();
  }

  /** Two fixed zones: synthesizing must never look anything up. */
  override get availabilityZones(): string[] {
    return [`${this.region}a`, `${this.region}b`];
  }

  private addEnvironment(vpc: ec2.IVpc, name: string): OrchestratorEnvironment {
    const scope = `${name[0]?.toUpperCase()}${name.slice(1)}`;
    const cluster = new ecs.Cluster(this, `${scope}Cluster`, {
      vpc,
      clusterName: `stepdeploy-demo-${name}`,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const logGroup = new logs.LogGroup(this, `${scope}Logs`, {
      logGroupName: `/stepdeploy-demo/${name}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const taskDefinition = (kind: string, command: string[], port?: number, entryPoint?: string[]) => {
      const definition = new ecs.FargateTaskDefinition(this, `${scope}${kind}Task`, {
        family: `stepdeploy-demo-${name}-${kind.toLowerCase()}`,
        cpu: 256,
        memoryLimitMiB: 512,
        runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64 },
      });
      definition.addContainer(SAMPLE_CONTAINER, {
        image: ecs.ContainerImage.fromRegistry(SAMPLE_IMAGE),
        entryPoint,
        command,
        environment: { APP_ENV: name },
        logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'app' }),
        stopTimeout: Duration.seconds(30),
        essential: true,
        portMappings: port ? [{ containerPort: port }] : undefined,
      });
      return definition;
    };

    const oneOff = taskDefinition('OneOff', SCRIPTS.migrate);
    const alb = new elbv2.ApplicationLoadBalancer(this, `${scope}Alb`, { vpc, internetFacing: true });
    const alarm = new cloudwatch.Alarm(this, `${scope}Errors`, {
      alarmName: sampleAlarmName(name),
      alarmDescription: `The ${name} web tasks answer 5xx: a release in ${name} fails while it deploys or bakes.`,
      metric: alb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const wave = SAMPLE_WAVES[name as keyof typeof SAMPLE_WAVES] ?? 0;
    const application = new codedeploy.EcsApplication(this, `${scope}Application`, {
      applicationName: `stepdeploy-demo-${name}`,
    });
    const serviceGroup = new ec2.SecurityGroup(this, `${scope}ServiceSg`, {
      vpc,
      description: `Tasks of the ${name} services: reachable from their load balancer only`,
    });
    const taskGroup = new ec2.SecurityGroup(this, `${scope}OneOffSg`, {
      vpc,
      description: `One-off tasks of ${name}: outbound only`,
    });

    const service = (role: 'web' | 'worker') => {
      const port = SAMPLE_PORTS[role];
      const kind = role === 'web' ? 'Web' : 'Worker';
      const definition =
        role === 'web'
          ? taskDefinition(kind, SCRIPTS.web, port)
          : taskDefinition(kind, SCRIPTS.worker, port, WORKER_ENTRYPOINT);
      const fargate = new ecs.FargateService(this, `${scope}${kind}Service`, {
        cluster,
        serviceName: role,
        taskDefinition: definition,
        desiredCount: role === 'web' ? 2 : 1,
        // CodeDeploy replaces the whole task set; these bound only ECS's own task replacements.
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
        securityGroups: [serviceGroup],
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      });
      const targetGroup = (color: string) =>
        new elbv2.ApplicationTargetGroup(this, `${scope}${kind}${color}`, {
          vpc,
          port,
          protocol: elbv2.ApplicationProtocol.HTTP,
          targetType: elbv2.TargetType.IP,
          healthCheck: { path: '/health', interval: Duration.seconds(10), healthyThresholdCount: 2 },
          deregistrationDelay: Duration.seconds(30),
        });
      const blue = targetGroup('Blue');
      const green = targetGroup('Green');
      // The web port is the public entry; the worker's port only serves its health check.
      const listener = alb.addListener(`${kind}Listener`, {
        port: role === 'web' ? 80 : port,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: role === 'web',
        defaultTargetGroups: [blue],
      });
      fargate.attachToApplicationTargetGroup(blue);
      serviceGroup.connections.allowFrom(alb, ec2.Port.tcp(port), `${role} traffic and health checks`);
      const deploymentGroup = new codedeploy.EcsDeploymentGroup(this, `${scope}${kind}Deployment`, {
        application,
        deploymentGroupName: `stepdeploy-demo-${name}-${role}`,
        service: fargate,
        blueGreenDeploymentConfig: {
          blueTargetGroup: blue,
          greenTargetGroup: green,
          listener,
          terminationWaitTime: Duration.minutes(5),
          // The waves after the canary cut over together: each deployment waits in Ready (for
          // an hour at most) until every one of its wave is, then stepdeploy continues them all.
          deploymentApprovalWaitTime: wave > 0 ? Duration.hours(1) : undefined,
        },
        deploymentConfig: codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
        autoRollback: { failedDeployment: true, stoppedDeployment: true },
      });
      Validations.of(deploymentGroup).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]',
        reason:
          'The AWS-maintained role policy for CodeDeploy ECS blue/green follows the service as it changes.',
      });
      return {
        name: role,
        role,
        service: fargate,
        deploymentGroup,
        container: SAMPLE_CONTAINER,
        containerPort: port,
      };
    };

    return {
      name,
      cluster,
      network: {
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [taskGroup],
      },
      migration: { taskDefinition: oneOff, container: SAMPLE_CONTAINER, command: SCRIPTS.migrate },
      services: [service('web'), service('worker')],
      wave,
      alarms: [alarm],
    };
  }

  /** Source: `release.zip` uploaded to a bucket, holding `release.json` (the execution input). */
  private pipeline(): void {
    const bucket = new s3.Bucket(this, 'ReleaseBucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    const source = new codepipeline.Artifact('Release');
    const pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      crossAccountKeys: false,
      stages: [
        {
          stageName: 'Source',
          actions: [
            new codepipelineActions.S3SourceAction({
              actionName: 'ReleaseFile',
              bucket,
              bucketKey: 'release.zip',
              output: source,
              trigger: codepipelineActions.S3Trigger.POLL,
            }),
          ],
        },
        { stageName: 'Release', actions: [this.orchestrator.releaseAction({ input: source })] },
      ],
    });
    acknowledgeWildcards(pipeline, (finding) => {
      if (/^Action::s3:[A-Za-z]+\*$/.test(finding) || /^Resource::<[^>]+\.Arn>\/\*$/.test(finding)) {
        return "CDK's grants on the pipeline's artifact and release buckets: objects under the pipeline's keys.";
      }
      if (/^Resource::arn:.*:execution:.*\*$/.test(finding)) {
        return 'The Step Functions action describes the executions it starts, whose names are only known then.';
      }
      return undefined;
    });
  }

  /** Acknowledges the cdk-nag findings the demo accepts, each with its reason. */
  private acknowledgeNagFindings(): void {
    const acknowledgments = [
      { id: 'AwsSolutions-ECS2', reason: 'APP_ENV names the environment; it is not a secret.' },
      {
        id: 'AwsSolutions-ELB2',
        reason: 'The demo load balancers need no access logs; a production stack would enable them.',
      },
      { id: 'AwsSolutions-EC23', reason: "The web listener is the demo application's public entry point." },
      {
        id: 'AwsSolutions-S1',
        reason:
          'The release bucket only receives release files from the build; CloudTrail records the uploads.',
      },
    ];
    for (const acknowledgment of acknowledgments) Validations.of(this).acknowledge(acknowledgment);
  }
}
