import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsError } from './aws-error.js';
import { LocalClock } from './clock.js';
import { CODEDEPLOY_TARGET, codedeployHandlers } from './codedeploy/codedeploy-handlers.js';
import { CodeDeployModel } from './codedeploy/model.js';
import { ecsTaskSetPort } from './codedeploy/task-set-port.js';
import { ecsHandlers } from './ecs/ecs-handlers.js';
import { EcsModel } from './ecs/ecs-model.js';
import { eventsHandlers } from './events/events-handlers.js';
import { EventsModel } from './events/events-model.js';
import { Faults, parseFaults } from './faults.js';
import { logsHandlers } from './logs/logs-handlers.js';
import { LogsModel } from './logs/logs-model.js';
import { type Handler, type Protocol, WireServer } from './server.js';
import { SSM_TARGET, ssmHandlers } from './ssm/ssm-handlers.js';
import { SsmModel } from './ssm/ssm-model.js';
import { LambdaFunctions } from './stepfunctions/lambda-functions.js';
import { StepFunctionsModel } from './stepfunctions/model.js';
import { SFN_TARGET, stepFunctionsHandlers } from './stepfunctions/sfn-handlers.js';

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
}

const DEFAULT_PORT = 4566;

/** The repository root, found from this file's place in it. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The local AWS: one HTTP server speaking the AWS JSON protocols for ECS, CloudWatch
 * Logs, EventBridge, CodeDeploy, Step Functions and SSM Parameter Store (more services are mounted with
 * `mount`), over in-memory models whose ECS tasks are real processes, plus control
 * paths under `/_local/`:
 * `GET /_local/health`, `GET|POST|DELETE /_local/faults`, `GET /_local/events`,
 * `GET /_local/calls`.
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
  /** ECS: clusters, task definitions, tasks (processes), services and task sets. */
  readonly ecs: EcsModel;
  readonly codedeploy: CodeDeployModel;
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
  ) {
    this.ecs = new EcsModel({ clock, faults: this.faults, logs: this.logs, repoRoot, dataDir });
    this.codedeploy = new CodeDeployModel({ ecs: ecsTaskSetPort(this.ecs), clock, faults: this.faults });
    this.lambdas = new LambdaFunctions({
      repoRoot,
      endpoint: () => this.endpoint,
      clock,
      faults: this.faults,
    });
    this.stepfunctions = new StepFunctionsModel({ lambdas: this.lambdas, clock, events: this.events });
    this.server = new WireServer((service, operation) => {
      const throttle = this.faults.take(
        'throttle',
        (fault) => fault.service === service && (fault.operation === operation || fault.operation === '*'),
      );
      if (throttle)
        throw new AwsError(
          'ThrottlingException',
          `Rate exceeded (${service} ${operation}, injected by a local AWS fault).`,
        );
    });
    this.server.mount('AmazonEC2ContainerServiceV20141113', 'awsJson1_1', ecsHandlers(this.ecs));
    this.server.mount('Logs_20140328', 'awsJson1_1', logsHandlers(this.logs));
    this.server.mount('AWSEvents', 'awsJson1_1', eventsHandlers(this.events));
    this.server.mount(CODEDEPLOY_TARGET, 'awsJson1_1', codedeployHandlers(this.codedeploy));
    this.server.mount(SFN_TARGET, 'awsJson1_0', stepFunctionsHandlers(this.stepfunctions));
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
  }

  /** Starts a local AWS and resolves once it listens. */
  static async start(options: LocalAwsOptions = {}): Promise<LocalAws> {
    const timeScale = options.timeScale ?? (Number(process.env.STEPDEPLOY_TIME_SCALE ?? '1') || 1);
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'stepdeploy-local-'));
    mkdirSync(dataDir, { recursive: true });
    const local = new LocalAws(
      new LocalClock(timeScale),
      resolve(dataDir),
      resolve(options.repoRoot ?? REPO_ROOT),
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
      await this.codedeploy.shutdown();
      await this.ecs.shutdown();
      await this.server.close();
      process.off('exit', this.onExit);
    })();
    return this.stopping;
  }
}
