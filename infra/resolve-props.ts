import { Arn, ArnFormat, Duration, Resource, type Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { EnvironmentConfig, StepConfig, WaveConfig } from '../lambdas/shared/config.js';
import type {
  CutOverMode,
  OrchestratorEnvironment,
  OrchestratorStep,
  RollbackScope,
} from './orchestrator-props.js';

/** Names of environments, services and steps: they end up in markers, tags and state names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** What an Advanced Parameter Store parameter holds. */
export const ADVANCED_PARAMETER_MAX_BYTES = 8192;

/** Length an unresolved token counts for in the size estimate: more than the ids and ARNs they stand for. */
export const TOKEN_ESTIMATE_CHARS = 80;

/** Lambda's own ceiling for one invocation. */
export const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);

/** A check runs for its watch plus this much, so it always hands its state back before Lambda stops it. */
export const CHECK_TIMEOUT_MARGIN = Duration.seconds(60);

/** Everything one environment contributes to the IAM policies. */
export interface EnvironmentResources {
  readonly config: EnvironmentConfig;
  readonly clusterArn: string;
  readonly oneOff: ecs.TaskDefinition;
  readonly taskDefinitions: ecs.TaskDefinition[];
  readonly serviceArns: string[];
  readonly deploymentGroups: codedeploy.IEcsDeploymentGroup[];
  /** The environment's wave number. */
  readonly wave: number;
  /** The alarms watched while its wave deploys and bakes. */
  readonly alarms: cloudwatch.IAlarm[];
  /**
   * Per deployment group: whether it waits in Ready for ContinueDeployment (its ready option is
   * STOP_DEPLOYMENT); undefined when synth cannot tell (an imported group).
   */
  readonly readyWaits: Array<boolean | undefined>;
}

/** CloudWatch's DescribeAlarms takes 100 alarm names at most. */
export const ALARMS_MAX = 100;

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
export function validateTiming(
  pollInterval: Duration,
  watchTimeout: Duration,
  timeout: Duration | undefined,
): void {
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

/**
 * Throws when `deploymentTimeout` cannot work: shorter than one poll, or not shorter than the
 * run's own timeout (the run would time out first and the cleanup roll back without a reason).
 */
export function validateDeploymentTimeout(
  deploymentTimeout: Duration,
  pollInterval: Duration,
  timeout: Duration | undefined,
): void {
  if (deploymentTimeout.toSeconds() < pollInterval.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: deploymentTimeout (${deploymentTimeout.toHumanString()}) is shorter than ` +
        `pollInterval (${pollInterval.toHumanString()}); give deployments at least one poll.`,
    );
  }
  if (timeout && deploymentTimeout.toSeconds() >= timeout.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: deploymentTimeout (${deploymentTimeout.toHumanString()}) is not shorter than ` +
        `timeout (${timeout.toHumanString()}); lower deploymentTimeout or raise timeout.`,
    );
  }
}

/** Step Functions takes execution names of 80 characters at most. */
export const EXECUTION_NAME_MAX = 80;

/** CodePipeline's Step Functions action names an execution `<prefix>-<action execution id>`, the id a UUID. */
const ACTION_EXECUTION_ID_CHARS = 36;

/** The longest `executionNamePrefix` that leaves room for the hyphen and the action execution id. */
export const EXECUTION_NAME_PREFIX_MAX = EXECUTION_NAME_MAX - 1 - ACTION_EXECUTION_ID_CHARS;

/**
 * Throws when CodePipeline could not start executions named `<prefix>-<36-character id>`:
 * longer than 80 characters, or with characters outside the ones a state machine that logs
 * to CloudWatch Logs takes (A-Z a-z 0-9 - _). A token is left to CodePipeline.
 */
export function validateExecutionNamePrefix(prefix: string | undefined): void {
  if (prefix === undefined || Token.isUnresolved(prefix)) return;
  if (prefix.length > EXECUTION_NAME_PREFIX_MAX) {
    throw new Error(
      `DeployOrchestrator: releaseAction executionNamePrefix '${prefix}' is ${prefix.length} characters; ` +
        `CodePipeline names each execution <prefix>-<${ACTION_EXECUTION_ID_CHARS}-character action execution id> ` +
        `and Step Functions takes ${EXECUTION_NAME_MAX} characters at most, so use ${EXECUTION_NAME_PREFIX_MAX} at most.`,
    );
  }
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) {
    throw new Error(
      `DeployOrchestrator: releaseAction executionNamePrefix '${prefix}' has characters an execution name ` +
        'of a state machine that logs to CloudWatch Logs may not have; use A-Z a-z 0-9 - and _ only.',
    );
  }
}

/** Throws on a step with a bad or duplicate name or an empty command. */
export function validateSteps(prop: string, steps: OrchestratorStep[]): void {
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
    refuseNestedParameter(`${prop}[${index}] ('${step.name}') command`, step.command);
  }
}

/**
 * Throws on a command argument holding `{{...}}`: commands are written into the configuration's
 * Parameter Store parameters, and PutParameter refuses values wrapped in double braces
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html),
 * so the stack would fail to deploy.
 */
function refuseNestedParameter(where: string, command: readonly string[]): void {
  const argument = command.find((arg) => !Token.isUnresolved(arg) && /\{\{.*\}\}/s.test(arg));
  if (argument !== undefined) {
    throw new Error(
      `DeployOrchestrator: ${where} has the argument '${argument}'; Parameter Store, which holds the ` +
        "configuration, refuses values with '{{...}}' in them. Move it into a script in the image and run that.",
    );
  }
}

function validateName(where: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`DeployOrchestrator: ${where} is '${name}'; use 1-32 of A-Z a-z 0-9 _ -.`);
  }
}

export function stepConfig(step: OrchestratorStep): StepConfig {
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

/** The capacity providers of Fargate, which every account has. */
const FARGATE_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'];

/** RunTask's limit on the providers of one capacity provider strategy. */
export const CAPACITY_PROVIDER_STRATEGY_MAX = 20;

/**
 * The network configuration of one-off tasks: only for an `awsvpc` task definition, which
 * RunTask requires one for and the only mode it takes one for.
 */
function resolveNetwork(
  env: OrchestratorEnvironment,
  oneOff: ecs.TaskDefinition,
): EnvironmentConfig['network'] {
  if (oneOff.networkMode !== ecs.NetworkMode.AWS_VPC) {
    if (env.network) {
      throw new Error(
        `DeployOrchestrator: environment '${env.name}' sets network, but its one-off task definition ` +
          `${oneOff.node.path} uses the ${oneOff.networkMode} network mode, for which RunTask takes no network ` +
          'configuration; drop network, or use the awsvpc network mode.',
      );
    }
    return undefined;
  }
  const network = env.network ?? {};
  const vpc = network.vpc ?? env.cluster.vpc;
  return {
    subnets: vpc.selectSubnets(network.vpcSubnets ?? {}).subnetIds,
    securityGroups: (network.securityGroups ?? []).map((group) => group.securityGroupId),
    assignPublicIp: network.assignPublicIp ?? false,
  };
}

/** The launch type or the capacity provider strategy of one-off tasks, validated. */
function resolvePlacement(
  env: OrchestratorEnvironment,
  oneOff: ecs.TaskDefinition,
): Pick<EnvironmentConfig, 'launchType' | 'capacityProviderStrategy'> {
  const where = `DeployOrchestrator: environment '${env.name}'`;
  const strategy = env.capacityProviderStrategy;
  if (strategy === undefined) {
    const launchType = env.launchType ?? ecs.LaunchType.FARGATE;
    if (launchType !== ecs.LaunchType.EC2 && launchType !== ecs.LaunchType.FARGATE) {
      throw new Error(`${where} has launchType ${launchType}; one-off tasks run on FARGATE or EC2.`);
    }
    if (launchType === ecs.LaunchType.FARGATE && oneOff.networkMode !== ecs.NetworkMode.AWS_VPC) {
      throw new Error(
        `${where} launches one-off tasks on FARGATE (the default), which runs only the awsvpc network mode, ` +
          `but task definition ${oneOff.node.path} uses ${oneOff.networkMode}; set launchType EC2 or a ` +
          'capacityProviderStrategy, or use the awsvpc network mode.',
      );
    }
    return { launchType: launchType === ecs.LaunchType.EC2 ? 'EC2' : 'FARGATE' };
  }
  if (env.launchType !== undefined) {
    throw new Error(
      `${where} sets both launchType (${env.launchType}) and capacityProviderStrategy; RunTask takes one ` +
        'of them: keep capacityProviderStrategy for a cluster that scales with capacity providers, else launchType.',
    );
  }
  if (strategy.length === 0 || strategy.length > CAPACITY_PROVIDER_STRATEGY_MAX) {
    throw new Error(
      `${where} has a capacityProviderStrategy of ${strategy.length} providers; name 1-${CAPACITY_PROVIDER_STRATEGY_MAX}.`,
    );
  }
  const names = new Set<string>();
  for (const [index, item] of strategy.entries()) {
    const at = `${where} capacityProviderStrategy[${index}]`;
    if (!Token.isUnresolved(item.capacityProvider)) {
      if (item.capacityProvider === '') throw new Error(`${at} has an empty capacityProvider; name one.`);
      if (names.has(item.capacityProvider)) {
        throw new Error(`${at} names ${item.capacityProvider} a second time; name each provider once.`);
      }
      names.add(item.capacityProvider);
    }
    if (
      item.weight !== undefined &&
      (!Number.isInteger(item.weight) || item.weight < 0 || item.weight > 1000)
    ) {
      throw new Error(`${at} has weight ${item.weight}; use an integer from 0 to 1000.`);
    }
    if (item.base !== undefined && (!Number.isInteger(item.base) || item.base < 0 || item.base > 100000)) {
      throw new Error(`${at} has base ${item.base}; use an integer from 0 to 100000.`);
    }
  }
  const fargate = strategy.find((item) => FARGATE_PROVIDERS.includes(item.capacityProvider));
  if (fargate && oneOff.networkMode !== ecs.NetworkMode.AWS_VPC) {
    throw new Error(
      `${where} capacityProviderStrategy names ${fargate.capacityProvider}, which runs only the awsvpc network ` +
        `mode, but task definition ${oneOff.node.path} uses ${oneOff.networkMode}; use the awsvpc network mode.`,
    );
  }
  if (strategy.filter((item) => item.base !== undefined).length > 1) {
    throw new Error(
      `${where} capacityProviderStrategy gives a base to several providers; give it to one at most.`,
    );
  }
  if (strategy.length > 1 && strategy.every((item) => (item.weight ?? 0) === 0)) {
    throw new Error(
      `${where} capacityProviderStrategy weighs every provider 0, so no task could be placed; give one a weight above 0.`,
    );
  }
  return {
    capacityProviderStrategy: strategy.map((item) => ({
      capacityProvider: item.capacityProvider,
      ...(item.weight === undefined ? {} : { weight: item.weight }),
      ...(item.base === undefined ? {} : { base: item.base }),
    })),
  };
}

/** Validates the environments and turns them into configuration and IAM inputs. */
export function resolveEnvironments(
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
      refuseNestedParameter(`environment '${env.name}' migration command`, env.migration.command);
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

    const wave = env.wave ?? 0;
    if (!Number.isInteger(wave) || wave < 0) {
      throw new Error(
        `DeployOrchestrator: environment '${env.name}' has wave ${wave}; use an integer, 0 or more (waves go out in ascending order).`,
      );
    }
    const alarms = env.alarms ?? [];
    validateAlarms(env, alarms, env.region ?? stack.region);

    const placement = resolvePlacement(env, oneOff);
    const config: EnvironmentConfig = {
      name: env.name,
      region: env.region ?? stack.region,
      cluster: env.cluster.clusterName,
      network: resolveNetwork(env, oneOff),
      ...placement,
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
      alarms: alarms.length > 0 ? alarms.map((alarm) => alarm.alarmName) : undefined,
    };
    return {
      config,
      clusterArn: env.cluster.clusterArn,
      oneOff,
      taskDefinitions: [oneOff, ...env.services.map((service) => service.service.taskDefinition)],
      serviceArns: env.services.map((service) => service.service.serviceArn),
      deploymentGroups: env.services.map((service) => service.deploymentGroup),
      wave,
      alarms,
      readyWaits: env.services.map((service) => readyWaitOf(service.deploymentGroup)),
    };
  });
}

/** Throws on more alarms than DescribeAlarms takes, or an alarm of another Region than the environment's. */
function validateAlarms(env: OrchestratorEnvironment, alarms: cloudwatch.IAlarm[], region: string): void {
  if (alarms.length > ALARMS_MAX) {
    throw new Error(
      `DeployOrchestrator: environment '${env.name}' has ${alarms.length} alarms; CloudWatch describes ${ALARMS_MAX} at most by name: combine some into a composite alarm.`,
    );
  }
  for (const alarm of alarms) {
    if (Token.isUnresolved(alarm.alarmArn) || Token.isUnresolved(region)) continue;
    const alarmRegion = Arn.split(alarm.alarmArn, ArnFormat.COLON_RESOURCE_NAME).region;
    if (alarmRegion && !Token.isUnresolved(alarmRegion) && alarmRegion !== region) {
      throw new Error(
        `DeployOrchestrator: environment '${env.name}' watches alarm ${alarm.alarmArn}, of Region ${alarmRegion}; ` +
          `its alarms are read in its own Region (${region}): use an alarm of that Region.`,
      );
    }
  }
}

/**
 * Whether a deployment group of this app waits in Ready for ContinueDeployment: its
 * CfnDeploymentGroup's `blueGreenDeploymentConfiguration.deploymentReadyOption.actionOnTimeout`
 * is STOP_DEPLOYMENT (what `deploymentApprovalWaitTime` sets). Undefined for an imported group,
 * or one whose configuration synth cannot read.
 */
export function readyWaitOf(group: codedeploy.IEcsDeploymentGroup): boolean | undefined {
  if (!Resource.isOwnedResource(group)) return undefined;
  const cfn = group.node.defaultChild;
  if (!(cfn instanceof codedeploy.CfnDeploymentGroup)) return undefined;
  const resolved = group.stack.resolve(cfn.blueGreenDeploymentConfiguration) as
    | {
        deploymentReadyOption?: { actionOnTimeout?: unknown };
        DeploymentReadyOption?: { ActionOnTimeout?: unknown };
      }
    | undefined;
  const action =
    resolved?.deploymentReadyOption?.actionOnTimeout ?? resolved?.DeploymentReadyOption?.ActionOnTimeout;
  if (action === undefined) return false;
  return typeof action === 'string' && !Token.isUnresolved(action) ? action === 'STOP_DEPLOYMENT' : undefined;
}

/**
 * The waves, in ascending order of the environments' wave numbers, each with how its traffic
 * moves (see `WaveCutOverSchema`). With `cutover: 'together'`, a deployment group of this app
 * without a ready wait is refused here, naming it and the fix.
 */
export function resolveWaves(
  environments: readonly EnvironmentResources[],
  cutover: CutOverMode | undefined,
): WaveConfig[] {
  if (cutover !== undefined && cutover !== 'together' && cutover !== 'independent') {
    throw new Error(`DeployOrchestrator: cutover is '${String(cutover)}'; use 'together' or 'independent'.`);
  }
  const numbers = [...new Set(environments.map((env) => env.wave))].sort((a, b) => a - b);
  return numbers.map((wave): WaveConfig => {
    const members = environments.filter((env) => env.wave === wave);
    const names = members.map((env) => env.config.name);
    if (cutover === 'independent') return { environments: names, cutover: 'independent' };
    const groups = members.flatMap((env) =>
      env.deploymentGroups.map((group, index) => ({
        path: group.node.path,
        where: `${env.config.name}/${env.config.services[index]?.name}`,
        waits: env.readyWaits[index],
      })),
    );
    const without = groups.filter((g) => g.waits === false);
    if (cutover === 'together' && without.length > 0) {
      const listed = without.map(({ path, where }) => `${path} (${where})`).join(', ');
      throw new Error(
        `DeployOrchestrator: cutover is 'together', but deployment group ${listed} has no ready wait, so its ` +
          'deployment would move production traffic without waiting for the others; give it ' +
          "blueGreenDeploymentConfig.deploymentApprovalWaitTime (e.g. Duration.hours(1)), or set cutover to 'independent'.",
      );
    }
    if (without.length > 0) return { environments: names, cutover: 'independent' };
    const unknown = groups.some((g) => g.waits === undefined);
    if (unknown) return { environments: names, cutover: cutover === 'together' ? 'verify' : 'detect' };
    return { environments: names, cutover: 'together' };
  });
}

/** Throws on a rollback scope other than 'all' or 'wave'. */
export function validateRollbackScope(scope: RollbackScope | undefined): void {
  if (scope !== undefined && scope !== 'all' && scope !== 'wave') {
    throw new Error(`DeployOrchestrator: rollbackScope is '${String(scope)}'; use 'all' or 'wave'.`);
  }
}

/** Throws when `bakeTime` is negative or leaves no room in the run's timeout. */
export function validateBakeTime(bakeTime: Duration, timeout: Duration): void {
  if (bakeTime.toMilliseconds() < 0) {
    throw new Error(`DeployOrchestrator: bakeTime is ${bakeTime.toHumanString()}; use 0 or more.`);
  }
  if (bakeTime.toSeconds() >= timeout.toSeconds()) {
    throw new Error(
      `DeployOrchestrator: bakeTime (${bakeTime.toHumanString()}) is not shorter than timeout ` +
        `(${timeout.toHumanString()}); lower bakeTime or raise timeout.`,
    );
  }
}

/**
 * Lambda's system log level for the handlers' application log level: Lambda's own lines are
 * kept as detailed as the handlers' (INFO keeps START and REPORT), never more.
 */
export function systemLogLevelOf(level: lambda.ApplicationLogLevel): lambda.SystemLogLevel {
  switch (level) {
    case lambda.ApplicationLogLevel.TRACE:
    case lambda.ApplicationLogLevel.DEBUG:
      return lambda.SystemLogLevel.DEBUG;
    case lambda.ApplicationLogLevel.INFO:
      return lambda.SystemLogLevel.INFO;
    default:
      return lambda.SystemLogLevel.WARN;
  }
}
