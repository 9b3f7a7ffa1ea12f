import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsError } from './aws-error.js';
import { LocalClock } from './clock.js';
import { AlarmsModel, DEFAULT_ALARM_RETURN_MS } from './cloudwatch/alarms-model.js';
import { CLOUDWATCH_QUERY, CLOUDWATCH_TARGET, cloudwatchHandlers } from './cloudwatch/cloudwatch-handlers.js';
import { CODEDEPLOY_TARGET, codedeployHandlers } from './codedeploy/codedeploy-handlers.js';
import { CodeDeployModel } from './codedeploy/model.js';
import { ecsTaskSetPort } from './codedeploy/task-set-port.js';
import { ecsHandlers } from './ecs/ecs-handlers.js';
import { EcsModel } from './ecs/ecs-model.js';
import { eventsHandlers } from './events/events-handlers.js';
import { EventsModel } from './events/events-model.js';
import { Faults, parseFaults } from './faults.js';
import { Authorizer, accessDeniedMessage } from './iam/authorizer.js';
import { IamModel } from './iam/iam-model.js';
import type { ResourceLookups } from './iam/operations.js';
import { AWSLOGS_DEFAULT_INTERVAL_MS } from './logs/awslogs-driver.js';
import { logsHandlers } from './logs/logs-handlers.js';
import { LogsModel } from './logs/logs-model.js';
import { ACCOUNT_ID, type Handler, type Protocol, WireServer } from './server.js';
import { SSM_TARGET, ssmHandlers } from './ssm/ssm-handlers.js';
import { SsmModel } from './ssm/ssm-model.js';
import { LambdaFunctions, LambdaInvocationError } from './stepfunctions/lambda-functions.js';
import { StepFunctionsModel } from './stepfunctions/model.js';
import { SFN_TARGET, stepFunctionsHandlers } from './stepfunctions/sfn-handlers.js';
import { handleStsQuery } from './sts/sts-handlers.js';
import { StsModel } from './sts/sts-model.js';

/** How to start a local AWS. */
export interface LocalAwsOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 4566 */
  port?: number;
  /** Divides every wait (stop timeouts, fault delays, deployment waits). @default STEPDEPLOY_TIME_SCALE or 1 */
  timeScale?: number;
  /** Where tasks keep their data (`LOCAL_DATA_DIR`). @default a new temporary directory */
  dataDir?: string;
  /** Working directory of every task process. @default the repository this file is in */
  repoRoot?: string;
  /**
   * Evaluate every call of a role session against the role's policies (AccessDeniedException
   * when they do not allow it). Off: every caller acts as the administrator. @default true
   */
  iam?: boolean;
  /**
   * Milliseconds between two batches of the awslogs driver, in AWS time (the time scale
   * divides it, as every wait): task output becomes readable in CloudWatch Logs in such
   * batches. @default 5000, the awslogs driver's
   */
  awslogsIntervalMs?: number;
  /**
   * Milliseconds, in AWS time (the time scale divides it), a metric alarm keeps the state
   * SetAlarmState gave it before it returns to its actual state; AWS says "often within
   * seconds". @default 5000
   */
  alarmReturnMs?: number;
}

const DEFAULT_PORT = 4566;

/** The repository root, found from this file's place in it. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The local AWS: one HTTP server speaking the AWS JSON protocols for ECS, CloudWatch
 * Logs, CloudWatch alarms, EventBridge, CodeDeploy, Step Functions and SSM Parameter Store
 * (CloudWatch also on its query protocol; more services are mounted with
 * `mount`), over in-memory models whose ECS tasks are real processes, plus control
 * paths under `/_local/`:
 * `GET /_local/health`, `GET|POST|DELETE /_local/faults`, `GET /_local/events`,
 * `GET /_local/calls`, `GET /_local/iam`. STS (AssumeRole, GetCallerIdentity) answers on
 * the query protocol on the same port.
 */
export class LocalAws {
  /** The fault injection in force. */
  readonly faults = new Faults();
  /** CloudWatch Logs: groups, streams and events, task output included. */
  readonly logs = new LogsModel();
  /** EventBridge: every event put or emitted, and the rules that deliver them in process. */
  readonly events = new EventsModel(this.faults);
  /** SSM Parameter Store: the parameters the template writes (the deploy configuration). */
  readonly ssm = new SsmModel();
  /** IAM: the roles and policies of the deployed templates, and Lambda functions' resource policies. */
  readonly iam = new IamModel();
  /** STS: the role sessions issued (AssumeRole, Lambda's and Step Functions' sessions). */
  readonly sts = new StsModel();
  /** Evaluates calls against the caller's policies and records each decision. */
  readonly authorizer: Authorizer;
  /** ECS: clusters, task definitions, tasks (processes), services and task sets. */
  readonly ecs: EcsModel;
  readonly codedeploy: CodeDeployModel;
  /** CloudWatch: metric alarms, their states and history. */
  readonly cloudwatch: AlarmsModel;
  /** The Lambda functions of the deployed template, run in process. */
  readonly lambdas: LambdaFunctions;
  readonly stepfunctions: StepFunctionsModel;
  /** `http://127.0.0.1:<port>`: the endpoint for SDK clients and the AWS CLI. */
  endpoint = '';
  private readonly server: WireServer;
  private readonly onExit = () => this.ecs.killAllNow();
  private stopping?: Promise<void>;

  private constructor(
    readonly clock: LocalClock,
    readonly dataDir: string,
    readonly repoRoot: string,
    iamEnabled: boolean,
    awslogsIntervalMs: number,
    alarmReturnMs: number,
  ) {
    this.cloudwatch = new AlarmsModel(clock, alarmReturnMs);
    this.ecs = new EcsModel({
      clock,
      faults: this.faults,
      logs: this.logs,
      repoRoot,
      dataDir,
      awslogsIntervalMs,
    });
    this.codedeploy = new CodeDeployModel({ ecs: ecsTaskSetPort(this.ecs), clock, faults: this.faults });
    this.authorizer = new Authorizer({ iam: this.iam, lookups: this.lookups(), clock, enabled: iamEnabled });
    const functionSessions = new Map<
      string,
      { accessKeyId: string; secretAccessKey: string; sessionToken: string }
    >();
    this.lambdas = new LambdaFunctions({
      repoRoot,
      endpoint: () => this.endpoint,
      clock,
      faults: this.faults,
      // Lambda creates the function's log group when it is missing, and a stream per execution environment.
      logs: {
        write: (region, group, stream, events) => {
          this.logs.createLogGroup(region, group, { ifMissing: true });
          this.logs.createLogStream(region, group, stream, true);
          this.logs.putLogEvents(region, group, stream, events);
        },
      },
      // Lambda runs a function with its role's credentials, under the function's name as session name.
      credentials: (fn) => {
        if (!iamEnabled || !fn.roleArn) return undefined;
        let credentials = functionSessions.get(fn.arn);
        if (!credentials) {
          credentials = this.sts.issue(fn.roleArn, fn.functionName, new Date(clock.nowMs())).credentials;
          functionSessions.set(fn.arn, credentials);
        }
        return credentials;
      },
      authorizeInvoke: async (invoker, fn, qualifiedArn) => {
        const decision = await this.authorizer.authorizeInvoke(invoker, qualifiedArn, fn.region);
        if (decision.allowed) return;
        const principal =
          invoker.kind === 'role'
            ? `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${invoker.roleArn.slice(invoker.roleArn.lastIndexOf('/') + 1)}/${invoker.sessionName}`
            : invoker.servicePrincipal;
        const message = accessDeniedMessage(
          principal,
          { action: 'lambda:InvokeFunction', resource: qualifiedArn },
          decision.explicit,
        );
        // Step Functions reports Lambda's 403 as Lambda.AWSLambdaException with the service's message.
        throw new LambdaInvocationError(
          'Lambda.AWSLambdaException',
          `${message} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: ${randomUUID()}; Proxy: null)`,
        );
      },
    });
    this.stepfunctions = new StepFunctionsModel({
      lambdas: this.lambdas,
      clock,
      events: this.events,
      faults: this.faults,
    });
    this.server = new WireServer(
      (service, operation) => {
        const throttle = this.faults.take(
          'throttle',
          (fault) => fault.service === service && (fault.operation === operation || fault.operation === '*'),
        );
        if (throttle)
          throw new AwsError(
            'ThrottlingException',
            `Rate exceeded (${service} ${operation}, injected by a local AWS fault).`,
          );
      },
      (call) =>
        this.authorizer.authorizeCall(
          this.sts.callerOf(call.accessKeyId),
          call.service,
          call.operation,
          call.input,
          call.region,
        ),
    );
    this.server.mountQuery('sts', (form, request) =>
      handleStsQuery(form, this.sts.callerOf(request.accessKeyId), request.region, {
        sts: this.sts,
        iam: this.iam,
        authorizer: this.authorizer,
        now: () => new Date(),
      }),
    );
    this.server.mount('AmazonEC2ContainerServiceV20141113', 'awsJson1_1', ecsHandlers(this.ecs));
    this.server.mount('Logs_20140328', 'awsJson1_1', logsHandlers(this.logs, this.faults));
    this.server.mount('AWSEvents', 'awsJson1_1', eventsHandlers(this.events));
    this.server.mount(CODEDEPLOY_TARGET, 'awsJson1_1', codedeployHandlers(this.codedeploy));
    this.server.mount(SFN_TARGET, 'awsJson1_0', stepFunctionsHandlers(this.stepfunctions));
    this.server.mount(
      CLOUDWATCH_TARGET,
      'awsJson1_0',
      cloudwatchHandlers(this.cloudwatch),
      'cloudwatch',
      CLOUDWATCH_QUERY,
    );
    this.mount(SSM_TARGET, 'awsJson1_1', ssmHandlers(this.ssm), 'ssm');
    this.server.route('GET', '/_local/health', async () => ({ status: 'ok', endpoint: this.endpoint }));
    this.server.route('GET', '/_local/faults', async () => ({ faults: this.faults.list() }));
    this.server.route('POST', '/_local/faults', async (body) => {
      this.faults.add(parseFaults(body));
      return { faults: this.faults.list() };
    });
    this.server.route('DELETE', '/_local/faults', async () => {
      this.faults.clear();
      return { faults: [] };
    });
    this.server.route('GET', '/_local/events', async () => ({ events: this.events.list() }));
    this.server.route('GET', '/_local/calls', async () => ({ calls: this.server.callCounts() }));
    this.server.route('GET', '/_local/iam', async () => this.authorizer.report());
  }

  /** What the operation table may look up to name the resources of a request. */
  private lookups(): ResourceLookups {
    const quietly = <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch {
        return undefined;
      }
    };
    return {
      taskDefinition: (region, reference) =>
        quietly(() => {
          const definition = this.ecs.taskDefinitions.get(region, reference);
          return {
            arn: definition.taskDefinitionArn as string,
            taskRoleArn: definition.taskRoleArn,
            executionRoleArn: definition.executionRoleArn,
          };
        }),
      nextTaskDefinitionRevision: (region, family) =>
        1 +
        Math.max(
          0,
          ...['ACTIVE', 'INACTIVE'].flatMap((status) =>
            this.ecs
              .listTaskDefinitions(region, { family, status })
              .map((arn) => Number(arn.split(':').pop())),
          ),
        ),
      deployment: (region, deploymentId) =>
        quietly(() => {
          const { deploymentInfo } = this.codedeploy.getDeployment(region, deploymentId);
          return {
            applicationName: deploymentInfo.applicationName as string,
            deploymentGroupName: deploymentInfo.deploymentGroupName as string,
          };
        }),
      deploymentConfigOf: (region, applicationName, deploymentGroupName) =>
        quietly(
          () =>
            this.codedeploy.getDeploymentGroup(region, applicationName, deploymentGroupName)
              .deploymentGroupInfo.deploymentConfigName,
        ),
    };
  }

  /** Starts a local AWS and resolves once it listens. */
  static async start(options: LocalAwsOptions = {}): Promise<LocalAws> {
    const timeScale = options.timeScale ?? (Number(process.env.STEPDEPLOY_TIME_SCALE ?? '1') || 1);
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'stepdeploy-local-'));
    mkdirSync(dataDir, { recursive: true });
    const awslogsIntervalMs = options.awslogsIntervalMs ?? AWSLOGS_DEFAULT_INTERVAL_MS;
    if (!(awslogsIntervalMs > 0) || !Number.isFinite(awslogsIntervalMs)) {
      throw new Error(
        `awslogsIntervalMs ${awslogsIntervalMs} is invalid: pass a positive number of milliseconds (AWS's is ${AWSLOGS_DEFAULT_INTERVAL_MS}).`,
      );
    }
    const alarmReturnMs = options.alarmReturnMs ?? DEFAULT_ALARM_RETURN_MS;
    if (!(alarmReturnMs >= 0) || !Number.isFinite(alarmReturnMs)) {
      throw new Error(
        `alarmReturnMs ${alarmReturnMs} is invalid: pass a number of milliseconds, 0 or more (AWS time; default ${DEFAULT_ALARM_RETURN_MS}).`,
      );
    }
    const local = new LocalAws(
      new LocalClock(timeScale),
      resolve(dataDir),
      resolve(options.repoRoot ?? REPO_ROOT),
      options.iam ?? true,
      awslogsIntervalMs,
      alarmReturnMs,
    );
    const port = await local.server.listen(options.port ?? DEFAULT_PORT);
    local.endpoint = `http://127.0.0.1:${port}`;
    // Task processes live in their own process groups: take them down with us.
    process.on('exit', local.onExit);
    return local;
  }

  /**
   * Serves another service on the same port: requests with `X-Amz-Target:
   * <targetPrefix>.<Operation>` go to `handlers[Operation]`. Handlers throw `AwsError`
   * for AWS-shaped errors. `service` names the service for throttle faults (default:
   * `codedeploy`, `sfn`... for the known prefixes).
   */
  mount(targetPrefix: string, protocol: Protocol, handlers: Record<string, Handler>, service?: string): void {
    this.server.mount(targetPrefix, protocol, handlers, service);
  }

  /** Every operation the local AWS serves on an awsJson protocol, as `service.Operation` (`ecs.RunTask`). */
  operations(): string[] {
    return this.server.operations();
  }

  /** How many times each operation was called so far, as `service.Operation` (`logs.GetLogEvents`). */
  callCounts(): Record<string, number> {
    return this.server.callCounts();
  }

  /** Adds a control path `METHOD /_local/<name>` answering JSON. */
  route(method: string, path: string, handler: (body: unknown) => Promise<unknown>): void {
    this.server.route(method, path, handler);
  }

  /** Kills every task process, waits until they are gone, and closes the server. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.stepfunctions.shutdown();
      this.cloudwatch.shutdown();
      await this.codedeploy.shutdown();
      await this.ecs.shutdown();
      await this.server.close();
      process.off('exit', this.onExit);
    })();
    return this.stopping;
  }
}
