import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  GetDeploymentCommand,
  type LifecycleEvent,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  type KeyValuePair,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import { deployTemplate } from '../../local/cloudformation.js';
import type { IamReport } from '../../local/iam/authorizer.js';
import { LocalAws } from '../../local/local-aws.js';

/** The Region of the sample stack; every environment of the demo lives there. */
export const SAMPLE_REGION = 'us-east-1';

/** The demo's environments, in the order the sample stack declares them. */
export const DEMO_ENVIRONMENTS = ['us', 'eu', 'au'] as const;

/** The demo's services per environment. */
export const DEMO_SERVICES = ['web', 'worker'] as const;

/** SDK clients pointed at one local AWS. */
export interface SampleClients {
  sfn: SFNClient;
  ecs: ECSClient;
  codedeploy: CodeDeployClient;
  logs: CloudWatchLogsClient;
  events: EventBridgeClient;
  /** CloudWatch, for the environments' alarms. */
  cloudwatch: CloudWatchClient;
}

/** A local AWS with the sample stack deployed on it. */
export interface SampleAws {
  local: LocalAws;
  endpoint: string;
  stateMachineArn: string;
  dataDir: string;
  clients: SampleClients;
  /** Stops every task process and the server. */
  stop(): Promise<void>;
}

/** What to start the sample on. */
export interface SampleAwsOptions {
  /** How many times faster than real time waits run. */
  timeScale: number;
  /** Where the tasks keep their databases; a fresh temporary directory when absent. */
  dataDir?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /**
   * Seconds a whole run may take (before the time scale), as the construct's `timeout`
   * prop sets it. @default the sample stack's (6 hours)
   */
  runTimeoutSeconds?: number;
  /** Evaluate the handlers' calls against their roles' policies. @default true */
  iam?: boolean;
  /** The template to deploy instead of the sample stack's (a variant of it). */
  template?: Record<string, unknown>;
}

/**
 * The template with its state machine's execution timeout set to `seconds`, as
 * `new DeployOrchestrator(..., { timeout: Duration.seconds(seconds) })` would synthesize it.
 */
export function withRunTimeout(template: Record<string, unknown>, seconds: number): Record<string, unknown> {
  const copy = structuredClone(template) as {
    Resources: Record<
      string,
      { Type: string; Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } }
    >;
  };
  const machines = Object.values(copy.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  for (const machine of machines) {
    const parts = machine.Properties.DefinitionString['Fn::Join'][1];
    const last = parts.at(-1);
    // The execution timeout is the definition's last field; the states' own come before it.
    if (typeof last !== 'string' || !/"TimeoutSeconds":\d+}$/.test(last)) {
      throw new Error(
        'The state machine definition does not end with its TimeoutSeconds: has the construct changed?',
      );
    }
    parts[parts.length - 1] = last.replace(/"TimeoutSeconds":\d+}$/, `"TimeoutSeconds":${seconds}}`);
  }
  return copy;
}

/**
 * Credentials for this process's own clients and the AWS CLI: credentials STS did not
 * issue act as the account's administrator. The handlers get their roles' credentials
 * from the local Lambda, per invocation.
 */
function ensureLocalCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.AWS_REGION ??= SAMPLE_REGION;
}

/** SDK clients for `endpoint`, as any AWS SDK v3 program would make them. */
export function clientsFor(endpoint: string, region = SAMPLE_REGION): SampleClients {
  const config = {
    region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // Throttling faults must slow a client down, not fail it.
    maxAttempts: 8,
  };
  return {
    sfn: new SFNClient(config),
    ecs: new ECSClient(config),
    codedeploy: new CodeDeployClient(config),
    logs: new CloudWatchLogsClient(config),
    events: new EventBridgeClient(config),
    cloudwatch: new CloudWatchClient(config),
  };
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What the sample template is made from: a change to any of these makes a new one. */
const TEMPLATE_SOURCES = ['infra', 'statemachine', 'lambdas', 'package-lock.json'];

function filesUnder(entry: string): string[] {
  const stat = statSync(entry, { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) return [entry];
  return readdirSync(entry)
    .sort()
    .flatMap((name) => filesUnder(path.join(entry, name)));
}

/**
 * The sample stack's template. Synthesizing takes seconds (tens on a busy machine), so it
 * is kept in `.local-aws/` under a hash of its sources and made again only when they change.
 */
export function sampleTemplate(): Record<string, unknown> {
  const hash = createHash('sha256');
  for (const file of TEMPLATE_SOURCES.flatMap((source) => filesUnder(path.join(REPO_ROOT, source)))) {
    hash.update(path.relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const cached = path.join(
    REPO_ROOT,
    '.local-aws',
    `sample-template-${hash.digest('hex').slice(0, 16)}.json`,
  );
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Record<string, unknown>;
  const template = synthesizeSampleTemplate();
  mkdirSync(path.dirname(cached), { recursive: true });
  // Written aside and renamed: another process may be reading or writing the same file.
  const partial = `${cached}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(template));
  renameSync(partial, cached);
  return template;
}

/** One template serves every local AWS this process starts. */
let template: Record<string, unknown> | undefined;

/** Starts a local AWS and deploys the template `infra/` synthesizes for the sample stack onto it. */
export async function startSampleAws(options: SampleAwsOptions): Promise<SampleAws> {
  ensureLocalCredentials();
  template ??= sampleTemplate();
  const base = options.template ?? template;
  const local = await LocalAws.start({
    port: options.port ?? 0,
    timeScale: options.timeScale,
    dataDir: options.dataDir,
    iam: options.iam,
  });
  try {
    const deployed = await deployTemplate(
      local,
      options.runTimeoutSeconds === undefined ? base : withRunTimeout(base, options.runTimeoutSeconds),
    );
    const clients = clientsFor(local.endpoint);
    return {
      local,
      endpoint: local.endpoint,
      stateMachineArn: deployed.stateMachineArn,
      dataDir: local.dataDir,
      clients,
      stop: async () => {
        for (const client of Object.values(clients)) client.destroy();
        await local.stop();
      },
    };
  } catch (error) {
    await local.stop();
    throw error;
  }
}

/** What the local AWS's IAM allowed and denied so far (`GET /_local/iam`). */
export async function iamReport(endpoint: string): Promise<IamReport> {
  const res = await fetch(`${endpoint}/_local/iam`);
  return (await res.json()) as IamReport;
}

/** Every call the local AWS's IAM denied so far, one line each: principal, action, resource, reason. */
export async function iamDenials(endpoint: string): Promise<string[]> {
  const report = await iamReport(endpoint);
  return Object.entries(report.principals).flatMap(([principal, { denied }]) =>
    denied.map((call) => `${principal} ${call.action} on ${call.resource}: ${call.reason}`),
  );
}

/** A release name from the time, valid as stepdeploy's `release` (`[A-Za-z0-9._-]{1,64}`). */
export function releaseNameAt(now: Date, prefix = 'demo'): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${prefix}-${stamp}`;
}

/** The execution input of a release of the demo app. */
export function releaseInput(
  release: string,
  extra: { environments?: string[]; skipMigrations?: boolean } = {},
) {
  return { release, images: { app: `stepdeploy-demo/app:${release}` }, ...extra };
}

/** Starts a release through StartExecution; resolves with the execution ARN. */
export async function startRelease(
  aws: Pick<SampleAws, 'clients' | 'stateMachineArn'>,
  release: string,
  extra: { environments?: string[]; skipMigrations?: boolean } = {},
): Promise<string> {
  const started = await aws.clients.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: aws.stateMachineArn,
      name: release,
      input: JSON.stringify(releaseInput(release, extra)),
    }),
  );
  if (!started.executionArn) throw new Error(`StartExecution of ${release} returned no executionArn.`);
  return started.executionArn;
}

/** The whole history of an execution, every page. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Whether the history shows the state `name` entered. */
export function enteredState(events: HistoryEvent[], name: string): boolean {
  return events.some((event) => event.stateEnteredEventDetails?.name === name);
}

/** Resolves `check()`'s value once it is defined; rejects after `timeoutMs` with `what` in the message. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until the execution left RUNNING; resolves with DescribeExecution's answer. */
export function waitForExecutionEnd(
  sfn: SFNClient,
  executionArn: string,
  timeoutMs = 120_000,
): Promise<DescribeExecutionCommandOutput> {
  return pollUntil(
    `execution ${executionArn} to end`,
    async () => {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE' ? undefined : execution;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** Waits until the history shows the state `name` entered. */
export function waitForState(
  sfn: SFNClient,
  executionArn: string,
  name: string,
  timeoutMs = 60_000,
): Promise<true> {
  return pollUntil(
    `state ${name} of ${executionArn}`,
    async () => (enteredState(await executionHistory(sfn, executionArn), name) ? true : undefined),
    { timeoutMs },
  );
}

/**
 * Makes every migration step of `environment` slower by registering a new revision of its
 * one-off task definition with `MIGRATION_DELAY_MS` in the container environment, as one
 * would in AWS; the next release builds its revision from this one.
 */
export async function setMigrationDelay(
  ecs: ECSClient,
  environment: string,
  delayMs: number,
): Promise<string> {
  const family = `stepdeploy-demo-${environment}-oneoff`;
  const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
  if (!taskDefinition?.containerDefinitions) {
    throw new Error(`Task definition ${family} has no container definitions: is the sample stack deployed?`);
  }
  const setDelay = (environmentPairs: KeyValuePair[] | undefined): KeyValuePair[] => [
    ...(environmentPairs ?? []).filter((pair) => pair.name !== 'MIGRATION_DELAY_MS'),
    { name: 'MIGRATION_DELAY_MS', value: String(delayMs) },
  ];
  const input: RegisterTaskDefinitionCommandInput = {
    family,
    taskRoleArn: taskDefinition.taskRoleArn,
    executionRoleArn: taskDefinition.executionRoleArn,
    networkMode: taskDefinition.networkMode,
    requiresCompatibilities: taskDefinition.requiresCompatibilities,
    cpu: taskDefinition.cpu,
    memory: taskDefinition.memory,
    runtimePlatform: taskDefinition.runtimePlatform,
    containerDefinitions: taskDefinition.containerDefinitions.map((container) => ({
      ...container,
      environment: setDelay(container.environment),
    })),
  };
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
  return registered.taskDefinition?.taskDefinitionArn ?? family;
}

/** The deployments CodeDeploy holds for one (environment, service) of the demo, newest first. */
export async function deploymentsOf(
  codedeploy: CodeDeployClient,
  environment: string,
  service: string,
): Promise<Array<{ deploymentId: string; status?: string; description?: string; rollbackOf?: string }>> {
  const listed = await codedeploy.send(
    new ListDeploymentsCommand({
      applicationName: `stepdeploy-demo-${environment}`,
      deploymentGroupName: `stepdeploy-demo-${environment}-${service}`,
    }),
  );
  const deployments = await Promise.all(
    (listed.deployments ?? []).map(async (deploymentId) => {
      const { deploymentInfo } = await codedeploy.send(new GetDeploymentCommand({ deploymentId }));
      return {
        deploymentId,
        status: deploymentInfo?.status,
        description: deploymentInfo?.description,
        rollbackOf: deploymentInfo?.rollbackInfo?.rollbackTriggeringDeploymentId,
        createTime: deploymentInfo?.createTime?.getTime() ?? 0,
      };
    }),
  );
  return deployments
    .sort((a, b) => b.createTime - a.createTime)
    .map(({ createTime: _, ...deployment }) => deployment);
}

/**
 * The lifecycle events of a deployment's ECS target, by name, as CodeDeploy reports them
 * (ListDeploymentTargets, then BatchGetDeploymentTargets).
 */
export async function lifecycleOf(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<Map<string, LifecycleEvent>> {
  const listed = await codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId }));
  const { deploymentTargets } = await codedeploy.send(
    new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: listed.targetIds ?? [] }),
  );
  const events = deploymentTargets?.flatMap((target) => target.ecsTarget?.lifecycleEvents ?? []) ?? [];
  return new Map(events.map((event) => [event.lifecycleEventName ?? '', event]));
}

/**
 * True when the deployment moved production traffic, or began to: its target's
 * BeforeAllowTraffic or AllowTraffic event ran (neither Pending nor Skipped). The production
 * listener moves to the replacement task set in AllowTraffic
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#reference-appspec-file-structure-hooks-list-ecs).
 */
export async function movedProductionTraffic(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<boolean> {
  const events = await lifecycleOf(codedeploy, deploymentId);
  return ['BeforeAllowTraffic', 'AllowTraffic'].some((name) => {
    const status = events.get(name)?.status;
    return status !== undefined && status !== 'Pending' && status !== 'Skipped';
  });
}

/** The deployment a release made on one group (the newest carrying its marker), if any. */
export async function releaseDeployment(
  codedeploy: CodeDeployClient,
  release: string,
  environment: string,
  service: string,
) {
  const [ours] = (await deploymentsOf(codedeploy, environment, service)).filter((d) =>
    d.description?.includes(`stepdeploy:${release}:${environment}/${service}`),
  );
  return ours;
}
