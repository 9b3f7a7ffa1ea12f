import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipelineActions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CONFIG_PATH_ENV,
  configPath,
  type DeployConfig,
  type EnvironmentConfig,
  environmentParameterName,
  globalParameterName,
  type StepConfig,
  splitConfig,
} from '../lambdas/shared/config.js';
import { buildFlow } from '../statemachine/flow.js';
import {
  type FlowHandler,
  type FlowHandlers,
  HANDLER_METADATA_KEY,
  VERBS,
  type Verb,
} from '../statemachine/handlers.js';
import { HANDLER_BUNDLING } from './handler-bundling.js';
import { acknowledgeWildcards } from './nag.js';

/** The repository root: handlers are bundled from `lambdas/<verb>/handler.ts` under it. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export { HANDLER_METADATA_KEY } from '../statemachine/handlers.js';

/** The path of a verb's handler module. */
export function handlerEntry(verb: Verb): string {
  return path.join(REPO_ROOT, 'lambdas', verb, 'handler.ts');
}

/** Names of environments, services and steps: they end up in markers, tags and state names. */
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** What a Standard Parameter Store parameter holds; a larger part of the configuration goes to an Advanced one. */
const STANDARD_PARAMETER_MAX_BYTES = 4096;

/** What an Advanced Parameter Store parameter holds. */
const ADVANCED_PARAMETER_MAX_BYTES = 8192;

/** Length an unresolved token counts for in the size estimate: more than the ids and ARNs they stand for. */
const TOKEN_ESTIMATE_CHARS = 80;

/** Lambda's own ceiling for one invocation. */
const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);

/** A check runs for its watch plus this much, so it always hands its state back before Lambda stops it. */
const CHECK_TIMEOUT_MARGIN = Duration.seconds(60);

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
   * Where one-off tasks run.
   * @default - the cluster VPC's private subnets, the VPC's default security group, no public IP
   */
  readonly network?: OrchestratorNetwork;
  /**
   * How one-off tasks are launched.
   * @default ecs.LaunchType.FARGATE
   */
  readonly launchType?: ecs.LaunchType;
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
}

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
   * Prefix of the execution names the action starts.
   * @default - CodePipeline's own naming
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
}

/** Everything one environment contributes to the IAM policies. */
interface EnvironmentResources {
  readonly config: EnvironmentConfig;
  readonly clusterArn: string;
  readonly oneOff: ecs.TaskDefinition;
  readonly taskDefinitions: ecs.TaskDefinition[];
  readonly serviceArns: string[];
  readonly deploymentGroups: codedeploy.IEcsDeploymentGroup[];
}

/**
 * A Step Functions state machine that ships a release of an ECS application to every
 * environment: pre-deploy steps and migrations as one-off tasks, CodeDeploy blue/green
 * deployments rolled back together on failure, old workers retired, post-deploy steps,
 * and an announcement on EventBridge. An EventBridge rule cleans up after runs that
 * were aborted, timed out or failed.
 */
export class DeployOrchestrator extends Construct {
  /** The state machine; start a release with an execution input `{ release, images, environments?, skipMigrations? }`. */
  public readonly stateMachine: sfn.StateMachine;
  /** The handler functions by verb. */
  public readonly functions: Readonly<Record<Verb, nodejs.NodejsFunction>>;
  /** The configuration the handlers read from Parameter Store. */
  public readonly config: DeployConfig;
  /**
   * The Parameter Store path the configuration is written under (`/stepdeploy/<state machine
   * name>`): one parameter `global`, and one `environments/<name>` per environment.
   */
  public readonly configPath: string;

  constructor(scope: Construct, id: string, props: DeployOrchestratorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const pollInterval = props.pollInterval ?? Duration.seconds(5);
    const watchTimeout = props.watchTimeout ?? Duration.minutes(10);
    const preDeploySteps = props.preDeploySteps ?? [];
    const postDeploySteps = props.postDeploySteps ?? [];
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    validateTiming(pollInterval, watchTimeout, props.timeout);
    validateSteps('preDeploySteps', preDeploySteps);
    validateSteps('postDeploySteps', postDeploySteps);

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const environments = resolveEnvironments(stack, props.environments, [
      ...preDeploySteps,
      ...postDeploySteps,
    ]);
    this.config = {
      environments: environments.map((env) => env.config),
      preDeploySteps: preDeploySteps.map(stepConfig),
      postDeploySteps: postDeploySteps.map(stepConfig),
      pollSeconds: pollInterval.toSeconds(),
      watchSeconds: watchTimeout.toSeconds(),
      eventBusName: eventBus.eventBusName,
    };

    // A fixed name lets the handlers' policies name the state machine without depending on it (that would be a cycle).
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const checkTimeout = watchTimeout.plus(CHECK_TIMEOUT_MARGIN);
    const timeouts: Record<Verb, Duration> = {
      plan: Duration.minutes(2),
      'start-tasks': Duration.minutes(2),
      'check-tasks': checkTimeout,
      'stop-tasks': Duration.minutes(2),
      'start-deployments': Duration.minutes(2),
      'check-deployments': checkTimeout,
      'roll-back': Duration.minutes(3),
      'check-rollbacks': checkTimeout,
      'retire-old-workers': Duration.minutes(3),
      announce: Duration.minutes(1),
      cleanup: Duration.minutes(10),
    };
    // Lambda caps a function's environment variables at 4 KB: the configuration goes to
    // Parameter Store, one parameter per environment, and the handlers get its path.
    this.configPath = configPath(stateMachineName);
    this.writeConfig(stack, stateMachineName);
    const configPathArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: this.configPath.slice(1),
    });
    const readConfig = new iam.PolicyStatement({
      actions: ['ssm:GetParametersByPath'],
      resources: [configPathArn, `${configPathArn}/*`],
    });
    const functions = {} as Record<Verb, nodejs.NodejsFunction>;
    for (const verb of VERBS) {
      functions[verb] = this.handlerFunction(verb, timeouts[verb], retention);
      functions[verb].addToRolePolicy(readConfig);
    }
    this.functions = functions;

    const access = new PolicyFactory(stack, environments, stateMachineArn, executionsArn);
    access.plan(functions.plan);
    access.startTasks(functions['start-tasks']);
    access.watchTasks(functions['check-tasks']);
    access.stopTasks(functions['stop-tasks']);
    access.createDeployments(functions['start-deployments']);
    access.watchDeployments(functions['check-deployments']);
    access.rollBack(functions['roll-back']);
    access.watchDeployments(functions['check-rollbacks']);
    access.retireWorkers(functions['retire-old-workers']);
    eventBus.grantPutEventsTo(functions.announce);
    access.cleanup(functions.cleanup);

    const handlers = Object.fromEntries(
      VERBS.filter((verb) => verb !== 'cleanup').map((verb): [string, FlowHandler] => [
        verb,
        { fn: functions[verb], timeout: timeouts[verb] },
      ]),
    ) as FlowHandlers;

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(buildFlow(new Construct(this, 'Flow'), handlers)),
      timeout: props.timeout ?? Duration.hours(6),
      tracingEnabled: props.tracingEnabled ?? true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    // StopExecution runs no Catch: the cleanup handler stops what an aborted, timed-out or failed run left behind.
    new events.Rule(this, 'CleanupRule', {
      description: `Cleans up after aborted, timed-out or failed executions of ${stateMachineName}`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
        },
      },
      targets: [
        new eventsTargets.LambdaFunction(functions.cleanup, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    this.acknowledgeNagFindings();
  }

  /**
   * A CodePipeline action that starts a release with the execution input read from
   * a JSON file of an artifact (`{ "release": ..., "images": {...} }`, written by the build).
   */
  public releaseAction(options: ReleaseActionOptions): codepipelineActions.StepFunctionInvokeAction {
    return new codepipelineActions.StepFunctionInvokeAction({
      actionName: options.actionName ?? 'Release',
      stateMachine: this.stateMachine,
      stateMachineInput: codepipelineActions.StateMachineInput.filePath(
        options.input.atPath(options.fileName ?? 'release.json'),
      ),
      executionNamePrefix: options.executionNamePrefix,
      runOrder: options.runOrder,
    });
  }

  /**
   * Writes the configuration as String parameters: the global part, and each environment
   * in a parameter of its own, Advanced when it outgrows a Standard one.
   */
  private writeConfig(stack: Stack, stateMachineName: string): void {
    const { global, environments } = splitConfig(this.config);
    const scope = new Construct(this, 'Config');
    const write = (id: string, parameterName: string, value: unknown, what: string, fix: string): void => {
      const bytes = estimatedJsonBytes(value);
      if (bytes > ADVANCED_PARAMETER_MAX_BYTES) {
        throw new Error(
          `DeployOrchestrator: the configuration of ${what} is about ${bytes} bytes (unresolved tokens ` +
            `counted as ${TOKEN_ESTIMATE_CHARS} characters); a Parameter Store parameter holds ` +
            `${ADVANCED_PARAMETER_MAX_BYTES} at most. ${fix}`,
        );
      }
      new ssm.StringParameter(scope, id, {
        parameterName,
        stringValue: stack.toJsonString(value),
        tier: bytes > STANDARD_PARAMETER_MAX_BYTES ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
        description: `stepdeploy configuration of ${stateMachineName}: ${what}`,
      });
    };
    write(
      'Global',
      globalParameterName(this.configPath),
      global,
      'the steps and settings',
      'Split it: fewer pre- and post-deploy steps, or shorter commands (a script in the image instead of inline arguments).',
    );
    for (const env of environments) {
      write(
        `Environment-${env.name}`,
        environmentParameterName(this.configPath, env.name),
        env,
        `environment '${env.name}'`,
        `Split it: move some of its services into an environment of their own, or into another orchestrator.`,
      );
    }
  }

  private handlerFunction(
    verb: Verb,
    timeout: Duration,
    retention: logs.RetentionDays,
  ): nodejs.NodejsFunction {
    const id = pascalCase(verb);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role with write access to its own log group only, instead of the managed basic execution role.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `stepdeploy ${verb} handler`,
    });
    logGroup.grantWrite(role);
    const fn = new nodejs.NodejsFunction(this, id, {
      role,
      entry: handlerEntry(verb),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      logGroup,
      description: `stepdeploy ${verb}`,
      environment: { [CONFIG_PATH_ENV]: this.configPath, NODE_OPTIONS: HANDLER_BUNDLING.nodeOptions },
      bundling: {
        minify: HANDLER_BUNDLING.minify,
        keepNames: HANDLER_BUNDLING.keepNames,
        sourceMap: HANDLER_BUNDLING.sourceMap,
        sourcesContent: HANDLER_BUNDLING.sourcesContent,
        target: HANDLER_BUNDLING.target,
        format: HANDLER_BUNDLING.format === 'esm' ? nodejs.OutputFormat.ESM : nodejs.OutputFormat.CJS,
        externalModules: [...HANDLER_BUNDLING.externalModules],
        forceDockerBundling: false,
      },
    });
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata(HANDLER_METADATA_KEY, verb);
    return fn;
  }

  /** Acknowledges the cdk-nag findings this construct accepts by design, each with its reason. */
  private acknowledgeNagFindings(): void {
    for (const fn of Object.values(this.functions)) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'The handlers are built and tested for Node.js 22; a runtime upgrade is a deliberate change.',
      });
    }
    acknowledgeWildcards(this, (finding) => {
      if (finding === 'Resource::*') {
        return (
          'ECS Describe*/List*/RegisterTaskDefinition have no resource-level permissions, TagResource is ' +
          'allowed only on create, task actions are conditioned on the configured clusters; X-Ray and log ' +
          'delivery of the state machine take no resource either.'
        );
      }
      if (/:task-definition\/.+:\*$/.test(finding)) {
        return 'RunTask on every revision of the one-off task definition family: Plan registers new revisions.';
      }
      if (/:execution:.+:\*$/.test(finding)) {
        return 'Cleanup reads whichever execution of this state machine ended badly.';
      }
      if (/:parameter\/stepdeploy\/.+\/\*$/.test(finding)) {
        return 'The handlers read every parameter of their own configuration path, one per environment.';
      }
      if (/^Resource::<[^>]+\.Arn>:\*$/.test(finding)) {
        return 'The state machine invokes the versions of its own handler functions.';
      }
      return undefined;
    });
  }
}

/**
 * The bytes `value` takes as JSON once deployed, estimated: every unresolved token (a
 * string token or list element, or a number token) counts as {@link TOKEN_ESTIMATE_CHARS} characters.
 */
export function estimatedJsonBytes(value: unknown): number {
  const placeholder = 'x'.repeat(TOKEN_ESTIMATE_CHARS);
  // A number token becomes a string here: its quotes make up the difference.
  const numberPlaceholder = placeholder.slice(2);
  const json = JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'number' && Token.isUnresolved(field) ? numberPlaceholder : field,
  );
  return Buffer.byteLength(json.replace(/[$#]\{Token\[[^\]]*\]\}/g, placeholder));
}

/** Throws when the watch and poll settings cannot work together or with Lambda's limits. */
function validateTiming(pollInterval: Duration, watchTimeout: Duration, timeout: Duration | undefined): void {
  if (pollInterval.toMilliseconds() < 1000) {
    throw new Error(
      `DeployOrchestrator: pollInterval is ${pollInterval.toHumanString()}; use at least 1 second.`,
    );
  }
  if (watchTimeout.plus(CHECK_TIMEOUT_MARGIN).toSeconds() > LAMBDA_MAX_TIMEOUT.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: watchTimeout is ${watchTimeout.toHumanString()}; a check function runs 60 s ` +
        'longer and Lambda stops it at 15 minutes, so use 14 minutes at most.',
    );
  }
  if (watchTimeout.toSeconds() < pollInterval.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: watchTimeout (${watchTimeout.toHumanString()}) is shorter than pollInterval ` +
        `(${pollInterval.toHumanString()}); make the watch at least one poll long.`,
    );
  }
  if (timeout && timeout.toSeconds() < watchTimeout.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: timeout (${timeout.toHumanString()}) is shorter than one check's watch ` +
        `(${watchTimeout.toHumanString()}); raise timeout.`,
    );
  }
}

/** Throws on a step with a bad or duplicate name or an empty command. */
function validateSteps(prop: string, steps: OrchestratorStep[]): void {
  const seen = new Set<string>();
  for (const [index, step] of steps.entries()) {
    validateName(`${prop}[${index}].name`, step.name);
    if (seen.has(step.name)) {
      throw new Error(
        `DeployOrchestrator: ${prop} has two steps named '${step.name}'; give each a unique name.`,
      );
    }
    seen.add(step.name);
    if (step.command.length === 0) {
      throw new Error(`DeployOrchestrator: ${prop}[${index}] ('${step.name}') has an empty command.`);
    }
  }
}

function validateName(where: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`DeployOrchestrator: ${where} is '${name}'; use 1-32 of A-Z a-z 0-9 _ -.`);
  }
}

function stepConfig(step: OrchestratorStep): StepConfig {
  return { name: step.name, container: step.container, command: [...step.command] };
}

/** Throws when the task definition has no container of that name (unless the name is a token). */
function requireContainer(where: string, taskDefinition: ecs.TaskDefinition, container: string): void {
  if (Token.isUnresolved(container)) return;
  if (!taskDefinition.findContainer(container)) {
    throw new Error(
      `DeployOrchestrator: ${where} names container '${container}', which task definition ` +
        `${taskDefinition.node.path} does not have; name one of its containers.`,
    );
  }
}

/** Validates the environments and turns them into configuration and IAM inputs. */
function resolveEnvironments(
  stack: Stack,
  environments: OrchestratorEnvironment[],
  steps: OrchestratorStep[],
): EnvironmentResources[] {
  if (environments.length === 0) {
    throw new Error('DeployOrchestrator: environments is empty; configure one environment at least.');
  }
  const names = new Set<string>();
  return environments.map((env, index) => {
    const where = `environments[${index}]`;
    validateName(`${where}.name`, env.name);
    if (names.has(env.name)) {
      throw new Error(
        `DeployOrchestrator: two environments are named '${env.name}'; give each a unique name.`,
      );
    }
    names.add(env.name);
    if (env.services.length === 0) {
      throw new Error(`DeployOrchestrator: environment '${env.name}' has no services; list one at least.`);
    }

    const oneOff = env.oneOffTaskDefinition ?? env.migration?.taskDefinition;
    if (!oneOff) {
      throw new Error(
        `DeployOrchestrator: environment '${env.name}' has neither a migration nor a oneOffTaskDefinition; ` +
          'steps need a task definition to run from.',
      );
    }
    if (
      env.migration &&
      env.oneOffTaskDefinition &&
      env.migration.taskDefinition !== env.oneOffTaskDefinition
    ) {
      throw new Error(
        `DeployOrchestrator: environment '${env.name}' sets a oneOffTaskDefinition different from its ` +
          "migration's; one-off tasks run from one task definition, so drop one of them.",
      );
    }
    if (env.migration) {
      requireContainer(`environment '${env.name}' migration`, oneOff, env.migration.container);
      if (env.migration.command.length === 0) {
        throw new Error(`DeployOrchestrator: environment '${env.name}' migration has an empty command.`);
      }
    }
    for (const step of steps)
      requireContainer(`step '${step.name}' in '${env.name}'`, oneOff, step.container);

    const serviceNames = new Set<string>();
    for (const [serviceIndex, service] of env.services.entries()) {
      validateName(`${where}.services[${serviceIndex}].name`, service.name);
      if (serviceNames.has(service.name)) {
        throw new Error(
          `DeployOrchestrator: environment '${env.name}' has two services named '${service.name}'; ` +
            'give each a unique name.',
        );
      }
      serviceNames.add(service.name);
      const port = service.containerPort;
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(
          `DeployOrchestrator: service '${env.name}/${service.name}' has containerPort ${port}; use 1-65535.`,
        );
      }
      requireContainer(
        `service '${env.name}/${service.name}'`,
        service.service.taskDefinition,
        service.container,
      );
    }

    const network = env.network ?? {};
    const vpc = network.vpc ?? env.cluster.vpc;
    const subnetIds = vpc.selectSubnets(network.vpcSubnets ?? {}).subnetIds;
    const launchType = env.launchType ?? ecs.LaunchType.FARGATE;
    const config: EnvironmentConfig = {
      name: env.name,
      region: env.region ?? stack.region,
      cluster: env.cluster.clusterName,
      network: {
        subnets: subnetIds,
        securityGroups: (network.securityGroups ?? []).map((group) => group.securityGroupId),
        assignPublicIp: network.assignPublicIp ?? false,
      },
      launchType: launchType === ecs.LaunchType.EC2 ? 'EC2' : 'FARGATE',
      taskDefinition: oneOff.family,
      migration: env.migration
        ? { container: env.migration.container, command: [...env.migration.command] }
        : undefined,
      services: env.services.map((service) => ({
        name: service.name,
        role: service.role ?? 'web',
        service: service.service.serviceName,
        application: service.deploymentGroup.application.applicationName,
        deploymentGroup: service.deploymentGroup.deploymentGroupName,
        family: service.service.taskDefinition.family,
        container: service.container,
        containerPort: service.containerPort,
      })),
    };
    return {
      config,
      clusterArn: env.cluster.clusterArn,
      oneOff,
      taskDefinitions: [oneOff, ...env.services.map((service) => service.service.taskDefinition)],
      serviceArns: env.services.map((service) => service.service.serviceArn),
      deploymentGroups: env.services.map((service) => service.deploymentGroup),
    };
  });
}

/** Turns `check-tasks` into `CheckTasks` for construct ids. */
function pascalCase(verb: string): string {
  return verb.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase());
}

/** Reading deployments by id. */
const READ_DEPLOYMENTS = ['codedeploy:GetDeployment', 'codedeploy:BatchGetDeployments'];

/** Finding a group's deployments (by marker) and reading them. */
const FIND_DEPLOYMENTS = [...READ_DEPLOYMENTS, 'codedeploy:ListDeployments'];

/** Creating a deployment after looking for the group's active ones. */
const CREATE_DEPLOYMENTS = [
  'codedeploy:CreateDeployment',
  ...FIND_DEPLOYMENTS,
  'codedeploy:GetDeploymentGroup',
];

/** Finding the run's tasks by `startedBy` and stopping them. */
const STOP_RUN_TASKS = ['ecs:DescribeTasks', 'ecs:ListTasks', 'ecs:StopTask'];

/** Builds the least-privilege policy of each handler from the configured resources. */
class PolicyFactory {
  private readonly clusterArns: string[];
  private readonly deploymentGroupArns: string[];
  private readonly applicationArns: string[];
  private readonly deploymentConfigArns: string[];

  constructor(
    private readonly stack: Stack,
    private readonly environments: EnvironmentResources[],
    private readonly stateMachineArn: string,
    private readonly executionsArn: string,
  ) {
    this.clusterArns = unique(environments.map((env) => env.clusterArn));
    const groups = environments.flatMap((env) => env.deploymentGroups);
    this.deploymentGroupArns = unique(groups.map((group) => group.deploymentGroupArn));
    this.applicationArns = unique(groups.map((group) => group.application.applicationArn));
    this.deploymentConfigArns = unique(groups.map((group) => group.deploymentConfig.deploymentConfigArn));
  }

  /** Plan: list executions, look for foreign deployments, read the services, register task definition revisions. */
  plan(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [this.stateMachineArn] }),
    );
    this.deploymentAccess(fn, FIND_DEPLOYMENTS);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices'],
        resources: unique(this.environments.flatMap((env) => env.serviceArns)),
      }),
    );
    this.taskDefinitionAccess(fn, 'RegisterTaskDefinition');
    this.passRoles(
      fn,
      this.environments.flatMap((env) => env.taskDefinitions),
    );
  }

  /** StartTasks: RunTask from the one-off task definitions, in the configured clusters only. */
  startTasks(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: unique(
          this.environments.map((env) =>
            this.stack.formatArn({
              service: 'ecs',
              region: env.config.region,
              resource: 'task-definition',
              resourceName: `${env.oneOff.family}:*`,
            }),
          ),
        ),
        conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
      }),
    );
    this.taskDefinitionAccess(fn, 'RunTask');
    this.passRoles(
      fn,
      this.environments.map((env) => env.oneOff),
    );
    // When one task of a phase fails to start, StartTasks stops the ones it did start.
    this.taskAccess(fn, ['ecs:StopTask']);
  }

  /** CheckTasks: describe the tasks. */
  watchTasks(fn: lambda.IFunction): void {
    this.taskAccess(fn, ['ecs:DescribeTasks']);
  }

  /** StopTasks: find the run's tasks and stop them. */
  stopTasks(fn: lambda.IFunction): void {
    this.taskAccess(fn, STOP_RUN_TASKS);
  }

  /** StartDeployments: look for active deployments, create ours. */
  createDeployments(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, CREATE_DEPLOYMENTS);
    this.revisionAccess(fn);
  }

  /** CheckDeployments and AwaitRollbacks: read deployments. */
  watchDeployments(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, READ_DEPLOYMENTS);
  }

  /** RollBack: stop in-flight deployments, redeploy previous revisions, adopt CodeDeploy's rollbacks. */
  rollBack(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, ['codedeploy:StopDeployment', ...CREATE_DEPLOYMENTS]);
    this.revisionAccess(fn);
  }

  /** RetireOldWorkers: end the termination wait, or stop the old tasks of worker services. */
  retireWorkers(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, ['codedeploy:ContinueDeployment', ...FIND_DEPLOYMENTS]);
    this.taskAccess(fn, STOP_RUN_TASKS);
  }

  /** Cleanup: read the failed execution, stop its tasks, roll its deployments back. */
  cleanup(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [this.executionsArn],
      }),
    );
    this.taskAccess(fn, STOP_RUN_TASKS);
    this.rollBack(fn);
  }

  /**
   * Task definition reads (and registration or tagging on create). These ECS actions
   * have no resource-level permissions, so the resource is `*`; tagging is allowed
   * only as part of the create call.
   */
  private taskDefinitionAccess(
    fn: lambda.IFunction,
    createAction: 'RegisterTaskDefinition' | 'RunTask',
  ): void {
    const actions = ['ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions', 'ecs:ListTagsForResource'];
    if (createAction === 'RegisterTaskDefinition') actions.push('ecs:RegisterTaskDefinition');
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: ['*'] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:TagResource'],
        resources: ['*'],
        conditions: { StringEquals: { 'ecs:CreateAction': createAction } },
      }),
    );
  }

  /** Task actions on any task of the configured clusters: task ARNs are only known at runtime. */
  private taskAccess(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions,
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
      }),
    );
  }

  /** iam:PassRole for exactly the task and execution roles of these task definitions, to ECS tasks only. */
  private passRoles(fn: lambda.IFunction, taskDefinitions: ecs.TaskDefinition[]): void {
    const roleArns = unique(
      taskDefinitions.flatMap((taskDefinition) => [
        taskDefinition.taskRole.roleArn,
        ...(taskDefinition.executionRole ? [taskDefinition.executionRole.roleArn] : []),
      ]),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: roleArns,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /** Deployment actions on the configured deployment groups. */
  private deploymentAccess(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: this.deploymentGroupArns }));
  }

  /** What CreateDeployment also needs: the deployment configs and the applications' revisions. */
  private revisionAccess(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codedeploy:GetDeploymentConfig'],
        resources: this.deploymentConfigArns,
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'],
        resources: this.applicationArns,
      }),
    );
  }
}

/** Distinct values, tokens compared by their string form. */
function unique(values: string[]): string[] {
  return [...new Set(values)];
}
