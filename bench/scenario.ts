import '../local/polyfills.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { deploymentRefs } from '../lambdas/shared/revisions.js';
import { DeployStateSchema } from '../lambdas/shared/schemas.js';
import { deployTemplate } from '../local/cloudformation.js';
import type { Fault } from '../local/faults.js';
import { LocalAws } from '../local/local-aws.js';
import { BENCH_CONTAINER, benchNames, synthesizeBenchTemplate } from './bench-stack.js';
import { startCountingProxy } from './counting-proxy.js';
import { analyzeHistory, type HistoryFigures, readHistory } from './history.js';
import { type ReceivedLine, withIngestionTimes } from './tail-analysis.js';

/** One release the bench runs on a fresh local AWS; every duration is simulated. */
export interface ScenarioOptions {
  environments: number;
  services: number;
  /** How many times faster than real time the local AWS and the handlers wait. */
  timeScale: number;
  /** How long every migration runs (ignored when `lines` is set: the migration writes them). */
  migrationSeconds: number;
  /** How long the pre-deploy and the post-deploy step run. */
  stepSeconds: number;
  /**
   * How long every deployment takes: the deployment groups have a ready wait and the bench
   * approves traffic (ContinueDeployment READY_WAIT) this long after each deployment was
   * created. Absent: no ready wait, traffic moves once the replacement runs.
   */
  deploySeconds?: number;
  /**
   * How the orchestrator moves traffic. `together`: the groups get an hour's ready wait that
   * stepdeploy ends for all of them at once (no bench approval; leave `deploySeconds` out).
   * @default 'independent'
   */
  cutover?: 'together' | 'independent';
  /** Poll interval of the orchestrator. @default the construct's default */
  pollSeconds?: number;
  /** Make one migration exit 1 this long after it started. */
  failMigration?: { environment: string; afterSeconds: number };
  /** Make one deployment fail (at BeforeAllowTraffic) when the bench approves it, this long after it was created. */
  failDeployment?: { environment: string; service: string; afterSeconds: number };
  /** Migrations write numbered lines instead of sleeping, and `tail-deploy --json` follows the run. */
  tail?: { lines: number; linesPerSecond: number };
  /** Milliseconds between two batches of the awslogs driver, before the time scale. @default AWS's 5000 */
  awslogsIntervalMs?: number;
}

/** A task of the run, as ECS describes it at the end. */
export interface TaskReport {
  environment: string;
  step: string;
  taskArn: string;
  createdAtMs?: number;
  startedAtMs?: number;
  stoppingAtMs?: number;
  stoppedAtMs?: number;
  exitCode?: number;
  stopCode?: string;
}

/** A deployment of the run's deployment groups, as CodeDeploy describes it at the end. */
export interface DeploymentReport {
  environment: string;
  service: string;
  deploymentId: string;
  status?: string;
  creator?: string;
  description?: string;
  createTimeMs?: number;
  completeTimeMs?: number;
  rollbackDeploymentId?: string;
  rollbackTriggeringDeploymentId?: string;
  /** When the bench approved its traffic shift. */
  approvedAtMs?: number;
  /** When its target's AllowTraffic lifecycle event started (read only for `cutover` scenarios). */
  allowTrafficStartMs?: number;
}

/** What one scenario run reports. */
export interface ScenarioReport {
  options: ScenarioOptions;
  executionArn: string;
  status: string;
  /** Error and cause of a run that did not succeed. */
  error?: string;
  cause?: string;
  startMs: number;
  stopMs: number;
  /** Bytes of a handler's environment variables, mostly `STEPDEPLOY_CONFIG` (Lambda allows 4 KB in all). */
  configBytes: number;
  synthSeconds: number;
  /** Bytes of the whole deploy configuration as JSON, with AWS-length subnet and security group ids. */
  deployConfigBytes: number;
  /** The orchestrator's configured poll interval and watch, from the deployed handlers. */
  pollSeconds: number;
  watchSeconds: number;
  history: HistoryFigures;
  tasks: TaskReport[];
  deployments: DeploymentReport[];
  tail?: { lines: ReceivedLine[]; getLogEventsAtMs: number[]; exitCode: number | null; stderr: string };
}

const REGION = 'us-east-1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const msOf = (date: Date | undefined) => (date ? date.getTime() : undefined);

/** The cluster of a task ARN: `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`. */
export function clusterOf(taskArn: string): string {
  const [cluster, id] = taskArn.split(':task/')[1]?.split('/') ?? [];
  if (!cluster || !id)
    throw new Error(`${taskArn} is not an ECS task ARN with a cluster (task/<cluster>/<id>).`);
  return cluster;
}

/** The tasks every StartTasks output in the history lists. */
export function tasksInHistory(
  events: HistoryEvent[],
): Array<{ environment: string; step: string; taskArn: string }> {
  const tasks = new Map<string, { environment: string; step: string; taskArn: string }>();
  for (const event of events) {
    const output = event.lambdaFunctionSucceededEventDetails?.output;
    if (!output) continue;
    const parsed = JSON.parse(output) as {
      tasks?: Array<{ environment?: string; step?: string; taskArn?: string }>;
    };
    for (const task of parsed?.tasks ?? []) {
      if (task.taskArn && task.environment && task.step) {
        tasks.set(task.taskArn, { environment: task.environment, step: task.step, taskArn: task.taskArn });
      }
    }
  }
  return [...tasks.values()];
}

/** The deployment ids of the first StartDeployments output in the history, once it is there. */
export function deploymentIdsInHistory(events: HistoryEvent[]): string[] | undefined {
  for (const event of events) {
    const output = event.lambdaFunctionSucceededEventDetails?.output;
    if (!output?.includes('"deployments"')) continue;
    const parsed = DeployStateSchema.safeParse(JSON.parse(output));
    if (parsed.success) return deploymentRefs(parsed.data.deployments).map((d) => d.deploymentId);
  }
  return undefined;
}

/**
 * Plays the operator who approves traffic: once the run's deployments exist, each gets
 * ContinueDeployment READY_WAIT `delayMsOf` (real) after it was created, as soon as it is
 * in its ready wait. One loop looks at the due ones in batches of 25, so that approving 400
 * deployments costs the local AWS little. Resolves with the approval times.
 */
async function approveDeployments(
  sfn: SFNClient,
  codedeploy: CodeDeployClient,
  executionArn: string,
  delayMsOf: (deployment: DeploymentInfo) => number,
  isRunning: () => boolean,
): Promise<Map<string, number>> {
  const approved = new Map<string, number>();
  let ids: string[] | undefined;
  while (!ids && isRunning()) {
    ids = deploymentIdsInHistory(await readHistory(sfn, executionArn));
    if (!ids) await sleep(50);
  }
  if (!ids) return approved;
  const due = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 25) {
    const page = await codedeploy.send(
      new BatchGetDeploymentsCommand({ deploymentIds: ids.slice(i, i + 25) }),
    );
    for (const info of page.deploymentsInfo ?? []) {
      due.set(info.deploymentId as string, (msOf(info.createTime) ?? Date.now()) + delayMsOf(info));
    }
  }
  while (due.size > 0 && isRunning()) {
    const now = Date.now();
    const ready = [...due].filter(([, dueMs]) => dueMs <= now).map(([id]) => id);
    for (let i = 0; i < ready.length; i += 25) {
      const page = await codedeploy.send(
        new BatchGetDeploymentsCommand({ deploymentIds: ready.slice(i, i + 25) }),
      );
      for (const info of page.deploymentsInfo ?? []) {
        const id = info.deploymentId as string;
        if (info.status === 'Ready') {
          approved.set(id, Date.now());
          due.delete(id);
          await codedeploy
            .send(new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'READY_WAIT' }))
            .catch(() => undefined);
        } else if (info.status === 'Succeeded' || info.status === 'Failed' || info.status === 'Stopped') {
          due.delete(id);
        }
      }
    }
    const next = Math.min(...due.values());
    await sleep(Math.max(20, Math.min(200, next - Date.now())));
  }
  return approved;
}

/** Follows the run with `tail-deploy --json` through a counting proxy; resolves when tail-deploy exits. */
async function followWithTailDeploy(repoRoot: string, endpoint: string, executionArn: string) {
  const proxy = await startCountingProxy(endpoint);
  const child = spawn(
    process.execPath,
    ['bin/tail-deploy.js', executionArn, '--json', '--endpoint-url', proxy.endpoint, '--region', REGION],
    {
      cwd: repoRoot,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: ReceivedLine[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (text) => lines.push({ receivedMs: Date.now(), text }));
  const exitCode = await new Promise<number | null>((resolvePromise) => child.on('close', resolvePromise));
  await proxy.close();
  const getLogEventsAtMs = proxy.calls.filter((c) => c.target.endsWith('.GetLogEvents')).map((c) => c.atMs);
  return { lines, getLogEventsAtMs, exitCode, stderr };
}

/**
 * Runs one release of the bench stack on a fresh local AWS, start to end, and reports its
 * history figures, its tasks and its deployments with their timestamps. One scenario per
 * process: handler modules keep their configuration for the life of the process.
 */
export async function runScenario(options: ScenarioOptions, repoRoot: string, log: (line: string) => void) {
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.AWS_REGION ??= REGION;
  const scale = options.timeScale;
  const seconds = (value: number) => Duration.millis(Math.round(value * 1000));

  const synthStarted = performance.now();
  const { template, config: deployConfig } = synthesizeBenchTemplate({
    environments: options.environments,
    services: options.services,
    timeScale: scale,
    migration: seconds(options.migrationSeconds),
    migrationCommand: options.tail
      ? [
          'node',
          'bench/workloads/write-lines.mjs',
          String(options.tail.lines),
          String(options.tail.linesPerSecond),
        ]
      : undefined,
    step: seconds(options.stepSeconds),
    // Long enough that the bench's approval (or stepdeploy's cut-over), not the wait's end, moves the traffic.
    readyWait:
      options.deploySeconds !== undefined
        ? seconds(Math.max(3600, options.deploySeconds * 2))
        : options.cutover === 'together'
          ? seconds(3600)
          : undefined,
    cutover: options.cutover,
    pollInterval: options.pollSeconds === undefined ? undefined : seconds(options.pollSeconds),
  });
  const synthSeconds = (performance.now() - synthStarted) / 1000;
  log(`synthesized ${options.environments} x ${options.services} in ${synthSeconds.toFixed(1)} s`);

  const local = await LocalAws.start({
    port: 0,
    timeScale: scale,
    repoRoot,
    awslogsIntervalMs: options.awslogsIntervalMs,
  });
  const config = {
    region: REGION,
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 8,
  };
  const sfn = new SFNClient(config);
  const ecs = new ECSClient(config);
  const codedeploy = new CodeDeployClient(config);
  try {
    const deployed = await deployTemplate(local, template);
    log(`deployed on ${local.endpoint}`);
    const configBytes = Math.max(0, ...local.lambdas.list().map((fn) => environmentBytes(fn.environment)));
    const faults: Fault[] = [];
    if (options.failMigration) {
      faults.push({
        kind: 'task-exit',
        environment: options.failMigration.environment,
        step: 'migrate',
        exitCode: 1,
        afterMs: options.failMigration.afterSeconds * 1000,
      });
    }
    if (options.failDeployment) {
      faults.push({
        kind: 'deployment-failure',
        environment: options.failDeployment.environment,
        service: options.failDeployment.service,
        lifecycleEvent: 'BeforeAllowTraffic',
      });
    }
    if (faults.length > 0) local.faults.add(faults);

    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deployed.stateMachineArn,
        name: 'bench-release',
        input: JSON.stringify({ release: 'bench-release', images: { [BENCH_CONTAINER]: 'bench/app:next' } }),
      }),
    );
    if (!executionArn) throw new Error('StartExecution returned no executionArn.');
    log(`started ${executionArn}`);

    let running = true;
    const tail = options.tail ? followWithTailDeploy(repoRoot, local.endpoint, executionArn) : undefined;
    const victim = options.failDeployment;
    const approvals =
      options.deploySeconds === undefined
        ? Promise.resolve(new Map<string, number>())
        : approveDeployments(
            sfn,
            codedeploy,
            executionArn,
            (info) => {
              const isVictim =
                victim && info.description?.includes(`:${victim.environment}/${victim.service}`);
              return ((isVictim ? victim.afterSeconds : (options.deploySeconds as number)) * 1000) / scale;
            },
            () => running,
          );

    let execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    while (execution.status === 'RUNNING') {
      await sleep(100);
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    }
    running = false;
    log(
      `execution ${execution.status}${execution.error ? `: ${execution.error}: ${execution.cause?.split('\n')[0]}` : ''}`,
    );
    const approvedAt = await approvals;
    const followed = await tail;
    const tailReport = followed && {
      ...followed,
      lines: withIngestionTimes(followed.lines, ingestionTimes(local)),
    };

    const events = await readHistory(sfn, executionArn);
    const tasks = await describeTasks(ecs, tasksInHistory(events));
    const deployments = await listDeployments(codedeploy, options, approvedAt);
    const report: ScenarioReport = {
      options,
      executionArn,
      status: execution.status ?? 'UNKNOWN',
      error: execution.error,
      cause: execution.cause,
      startMs: msOf(execution.startDate) ?? 0,
      stopMs: msOf(execution.stopDate) ?? Date.now(),
      configBytes,
      synthSeconds,
      pollSeconds: deployConfig.pollSeconds,
      watchSeconds: deployConfig.watchSeconds,
      deployConfigBytes: configJsonBytes(deployConfig),
      history: analyzeHistory(events),
      tasks,
      deployments,
      tail: tailReport,
    };
    return report;
  } finally {
    for (const client of [sfn, ecs, codedeploy]) client.destroy();
    await local.stop();
  }
}

/** When CloudWatch Logs ingested each numbered line (`<seq> <epoch ms>`), by `<task id> <seq>`. */
function ingestionTimes(local: LocalAws): Map<string, number> {
  const times = new Map<string, number>();
  for (const { stream } of local.logs.streamsOf(REGION)) {
    const taskId = stream.name.split('/').pop();
    for (const event of stream.events) {
      const seq = /^(\d+) \d+$/.exec(event.message.trim())?.[1];
      if (seq !== undefined) times.set(`${taskId} ${seq}`, event.ingestionTime);
    }
  }
  return times;
}

/**
 * Bytes of a handler function's environment variables (names and values, as Lambda counts
 * them against its 4 KB), with the local AWS's stand-ins for subnet and security group ids
 * replaced by ids of the length AWS gives them (`subnet-` / `sg-` and 17 hex digits).
 */
export function environmentBytes(environment: Record<string, string>): number {
  let total = 0;
  for (const [name, value] of Object.entries(environment)) {
    const text = name === 'STEPDEPLOY_CONFIG' ? JSON.stringify(withAwsLengthIds(JSON.parse(value))) : value;
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(text, 'utf8');
  }
  return total;
}

/** Bytes of a deploy configuration as JSON, with subnet and security group ids as long as AWS's. */
export function configJsonBytes(config: unknown): number {
  return Buffer.byteLength(JSON.stringify(withAwsLengthIds(structuredClone(config))), 'utf8');
}

function withAwsLengthIds(config: unknown): unknown {
  const environments = (config as { environments?: unknown }).environments;
  for (const env of Array.isArray(environments) ? environments : []) {
    const network = (env as { network?: { subnets?: unknown[]; securityGroups?: unknown[] } }).network;
    if (!network) continue;
    network.subnets = network.subnets?.map(() => `subnet-${'0'.repeat(17)}`);
    network.securityGroups = network.securityGroups?.map(() => `sg-${'0'.repeat(17)}`);
  }
  return config;
}

async function describeTasks(
  ecs: ECSClient,
  refs: Array<{ environment: string; step: string; taskArn: string }>,
): Promise<TaskReport[]> {
  const byCluster = new Map<string, string[]>();
  for (const ref of refs)
    byCluster.set(clusterOf(ref.taskArn), [...(byCluster.get(clusterOf(ref.taskArn)) ?? []), ref.taskArn]);
  const described = new Map<string, Task>();
  for (const [cluster, arns] of byCluster) {
    for (let i = 0; i < arns.length; i += 100) {
      const page = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
      for (const task of page.tasks ?? []) if (task.taskArn) described.set(task.taskArn, task);
    }
  }
  return refs.map((ref) => {
    const task = described.get(ref.taskArn);
    const container = task?.containers?.find((c) => c.name === BENCH_CONTAINER) ?? task?.containers?.[0];
    return {
      ...ref,
      createdAtMs: msOf(task?.createdAt),
      startedAtMs: msOf(task?.startedAt),
      stoppingAtMs: msOf(task?.stoppingAt),
      stoppedAtMs: msOf(task?.stoppedAt),
      exitCode: container?.exitCode,
      stopCode: task?.stopCode,
    };
  });
}

/** When the AllowTraffic lifecycle event of a deployment's ECS target started, if it did. */
async function allowTrafficStart(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<number | undefined> {
  const listed = await codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId }));
  if (!listed.targetIds?.length) return undefined;
  const { deploymentTargets } = await codedeploy.send(
    new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: listed.targetIds }),
  );
  const events = deploymentTargets?.flatMap((target) => target.ecsTarget?.lifecycleEvents ?? []) ?? [];
  return msOf(events.find((event) => event.lifecycleEventName === 'AllowTraffic')?.startTime);
}

async function listDeployments(
  codedeploy: CodeDeployClient,
  options: ScenarioOptions,
  approvedAt: Map<string, number>,
): Promise<DeploymentReport[]> {
  const names = benchNames(options.environments, options.services);
  const reports: DeploymentReport[] = [];
  for (const environment of names.environments) {
    for (const service of names.services) {
      const listed = await codedeploy.send(
        new ListDeploymentsCommand({
          applicationName: `bench-${environment}`,
          deploymentGroupName: `bench-${environment}-${service}`,
        }),
      );
      const ids = listed.deployments ?? [];
      for (let i = 0; i < ids.length; i += 25) {
        const page = await codedeploy.send(
          new BatchGetDeploymentsCommand({ deploymentIds: ids.slice(i, i + 25) }),
        );
        for (const info of page.deploymentsInfo ?? []) {
          reports.push({
            environment,
            service,
            deploymentId: info.deploymentId as string,
            status: info.status,
            creator: info.creator,
            description: info.description,
            createTimeMs: msOf(info.createTime),
            completeTimeMs: msOf(info.completeTime),
            rollbackDeploymentId: info.rollbackInfo?.rollbackDeploymentId,
            rollbackTriggeringDeploymentId: info.rollbackInfo?.rollbackTriggeringDeploymentId,
            approvedAtMs: approvedAt.get(info.deploymentId as string),
            allowTrafficStartMs:
              options.cutover === undefined
                ? undefined
                : await allowTrafficStart(codedeploy, info.deploymentId as string),
          });
        }
      }
    }
  }
  return reports;
}
