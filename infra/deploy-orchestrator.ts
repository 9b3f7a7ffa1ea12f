import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codepipelineActions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CONFIG_PATH_ENV,
  configPath,
  type DeployConfig,
  environmentParameterName,
  globalParameterName,
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
import { requireHandlerBundle } from './handler-code.js';
import { PolicyFactory } from './handler-policies.js';
import { acknowledgeWildcards } from './nag.js';
import type { DeployOrchestratorProps, ReleaseActionOptions } from './orchestrator-props.js';
import {
  ADVANCED_PARAMETER_MAX_BYTES,
  CHECK_TIMEOUT_MARGIN,
  estimatedJsonBytes,
  resolveEnvironments,
  resolveWaves,
  stepConfig,
  systemLogLevelOf,
  TOKEN_ESTIMATE_CHARS,
  validateBakeTime,
  validateDeploymentTimeout,
  validateExecutionNamePrefix,
  validateRollbackScope,
  validateSteps,
  validateTiming,
} from './resolve-props.js';

export { HANDLER_METADATA_KEY } from '../statemachine/handlers.js';
export { handlerEntry } from './handler-code.js';
export type * from './orchestrator-props.js';
export { estimatedJsonBytes } from './resolve-props.js';

/**
 * A Step Functions state machine that ships a release of an ECS application to every
 * environment: pre-deploy steps and migrations as one-off tasks, CodeDeploy blue/green
 * deployments in waves (each cut over together where its groups wait in Ready, baked with
 * its alarms watched), rolled back on failure, old workers retired, post-deploy steps, and
 * an announcement on EventBridge. An EventBridge rule cleans up after runs that were
 * aborted, timed out or failed.
 */
export class DeployOrchestrator extends Construct {
  /**
   * The state machine; start a release with an execution input `{ release, images, environments?,
   * skipMigrations? }`, or a rollback to an earlier release with `{ release, rollbackTo, environments? }`.
   */
  public readonly stateMachine: sfn.StateMachine;
  /** The handler functions by verb. */
  public readonly functions: Readonly<Record<Verb, lambda.Function>>;
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
    const deploymentTimeout = props.deploymentTimeout ?? Duration.hours(2);
    const preDeploySteps = props.preDeploySteps ?? [];
    const postDeploySteps = props.postDeploySteps ?? [];
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const logLevel = props.logLevel ?? lambda.ApplicationLogLevel.INFO;
    validateTiming(pollInterval, watchTimeout, props.timeout);
    if (props.deploymentTimeout) {
      validateDeploymentTimeout(deploymentTimeout, pollInterval, props.timeout ?? Duration.hours(6));
    }
    const onPreviousTerminationWait = props.onPreviousTerminationWait ?? 'continue';
    if (onPreviousTerminationWait !== 'continue' && onPreviousTerminationWait !== 'refuse') {
      throw new Error(
        `DeployOrchestrator: onPreviousTerminationWait is "${String(onPreviousTerminationWait)}"; use 'continue' or 'refuse'.`,
      );
    }
    validateSteps('preDeploySteps', preDeploySteps);
    validateSteps('postDeploySteps', postDeploySteps);
    const bakeTime = props.bakeTime ?? Duration.seconds(0);
    validateBakeTime(bakeTime, props.timeout ?? Duration.hours(6));
    validateRollbackScope(props.rollbackScope);

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const environments = resolveEnvironments(stack, props.environments, [
      ...preDeploySteps,
      ...postDeploySteps,
    ]);
    const waves = resolveWaves(environments, props.cutover);
    this.config = {
      environments: environments.map((env) => env.config),
      preDeploySteps: preDeploySteps.map(stepConfig),
      postDeploySteps: postDeploySteps.map(stepConfig),
      pollSeconds: pollInterval.toSeconds(),
      watchSeconds: watchTimeout.toSeconds(),
      deploymentTimeoutSeconds: deploymentTimeout.toSeconds(),
      eventBusName: eventBus.eventBusName,
      waves,
      bakeSeconds: bakeTime.toSeconds(),
      rollbackScope: props.rollbackScope ?? 'all',
      onPreviousTerminationWait,
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
      'cut-over': Duration.minutes(2),
      'check-bake': checkTimeout,
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
    const functions = {} as Record<Verb, lambda.Function>;
    for (const verb of VERBS) {
      functions[verb] = this.handlerFunction(verb, timeouts[verb], {
        logGroupName: `/stepdeploy/${stateMachineName}/${verb}`,
        retention,
        logLevel,
      });
      functions[verb].addToRolePolicy(readConfig);
    }
    this.functions = functions;

    const access = new PolicyFactory(stack, environments, stateMachineArn, executionsArn);
    access.plan(
      functions.plan,
      waves.some((wave) => wave.cutover === 'verify' || wave.cutover === 'detect'),
    );
    access.startTasks(functions['start-tasks']);
    access.watchTasks(functions['check-tasks']);
    access.stopTasks(functions['stop-tasks']);
    access.createDeployments(functions['start-deployments']);
    const alarms = environments.some((env) => env.alarms.length > 0);
    access.watchDeployments(functions['check-deployments'], alarms);
    access.cutOver(functions['cut-over']);
    access.watchAlarms(functions['check-bake']);
    access.rollBack(functions['roll-back']);
    // Groups of a wave not decided independent may have a ready wait a redeploy must end.
    const readyWaits = waves.some((wave) => wave.cutover !== 'independent');
    access.watchRollbacks(functions['check-rollbacks'], readyWaits);
    access.retireWorkers(functions['retire-old-workers']);
    eventBus.grantPutEventsTo(functions.announce);
    access.cleanup(functions.cleanup, readyWaits);

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
      // The retry policy covers EventBridge's delivery (the asynchronous Invoke); an error of the
      // cleanup itself is retried by Lambda's asynchronous invocation (twice), and an event may
      // arrive twice: the cleanup is idempotent, two at once included.
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
   * Throws when `executionNamePrefix` would make execution names Step Functions refuses.
   */
  public releaseAction(options: ReleaseActionOptions): codepipelineActions.StepFunctionInvokeAction {
    validateExecutionNamePrefix(options.executionNamePrefix);
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
   * in a parameter of its own. Their tier is Intelligent-Tiering: Parameter Store keeps a
   * value in the free Standard tier while it fits and moves it to Advanced when it outgrows
   * 4 KB; an Advanced parameter never goes back to Standard, and a template asking for
   * Standard after a configuration shrank would fail the stack update. The tier is decided
   * on the deployed value, not on this size estimate, which cannot see through tokens.
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
        tier: ssm.ParameterTier.INTELLIGENT_TIERING,
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

  /**
   * One handler's function, its own role and its own log group. The group is named after the
   * state machine and the verb (`/stepdeploy/<state machine>/<verb>`), so an operator finds a
   * handler's logs without looking the function up, and one CloudWatch Logs Insights query
   * can take every handler of a state machine by prefix.
   */
  private handlerFunction(
    verb: Verb,
    timeout: Duration,
    logging: { logGroupName: string; retention: logs.RetentionDays; logLevel: lambda.ApplicationLogLevel },
  ): lambda.Function {
    const id = pascalCase(verb);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: logging.logGroupName,
      retention: logging.retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role with write access to its own log group only, instead of the managed basic execution role.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `stepdeploy ${verb} handler`,
    });
    logGroup.grantWrite(role);
    // Bundled when stepdeploy is built (infra/bundle-handlers.ts), so a synth needs no esbuild, tsx or Docker.
    const fn = new lambda.Function(this, id, {
      role,
      code: lambda.Code.fromAsset(requireHandlerBundle(verb)),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      logGroup,
      // JSON: Lambda's own lines (START, REPORT) become JSON too, and it filters the handlers' lines by level.
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: logging.logLevel,
      systemLogLevelV2: systemLogLevelOf(logging.logLevel),
      description: `stepdeploy ${verb}`,
      environment: { [CONFIG_PATH_ENV]: this.configPath, NODE_OPTIONS: HANDLER_BUNDLING.nodeOptions },
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
          'allowed only on create, task actions are conditioned on the configured clusters; CodeDeploy ' +
          'StopDeployment, ContinueDeployment, ListDeploymentTargets and BatchGetDeploymentTargets name no ' +
          'resource type in the Service Authorization Reference; CloudWatch returns composite alarms only to ' +
          'DescribeAlarms/DescribeAlarmHistory scoped to *, granted so only when an alarm is not a metric ' +
          'alarm of this app; X-Ray and log delivery of the state machine take no resource either.'
        );
      }
      if (/:deploymentconfig:\*$/.test(finding)) {
        return (
          'CreateDeployment reads the deployment configuration of the group, and an imported group does ' +
          'not tell which it uses: every configuration of the account in the Region (read only).'
        );
      }
      if (/:task-definition\/.+:\*$/.test(finding)) {
        return 'RunTask on every revision of the one-off task definition family: Plan registers new revisions.';
      }
      if (/:execution:.+:\*$/.test(finding)) {
        return (
          'Cleanup reads whichever execution of this state machine ended badly; Plan reads its succeeded ' +
          'executions to find the release a rollback goes back to.'
        );
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

/** Turns `check-tasks` into `CheckTasks` for construct ids. */
function pascalCase(verb: string): string {
  return verb.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) => letter.toUpperCase());
}
