import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type {
  Cluster,
  Container,
  ContainerDefinition,
  Failure,
  KeyValuePair,
  RunTaskRequest,
  Tag,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { TAGS } from '../../lambdas/shared/markers.js';
import { AwsError, required } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import { AwslogsDriver, AwslogsStartError } from '../logs/awslogs-driver.js';
import type { LogsModel } from '../logs/logs-model.js';
import { ACCOUNT_ID } from '../server.js';
import { type ContainerExit, ContainerProcess } from './container-process.js';
import type { ResourceTags } from './resource-tags.js';
import {
  ClientTokens,
  checkSameRequest,
  clientTokenKey,
  type Placement,
  placementOf,
  subnetsOf,
  validateRunTask,
} from './run-task-request.js';
import type { TaskDefinitions } from './task-definitions.js';

/** One container of a task. */
export interface ContainerRun {
  definition: ContainerDefinition;
  container: Container;
  process?: ContainerProcess;
  port?: number;
  cancelKill?: () => void;
}

/** A task and what the local AWS keeps about it besides its wire shape. */
export interface TaskRecord {
  task: Task;
  region: string;
  clusterName: string;
  containers: ContainerRun[];
  /** Resolves when the task is STOPPED. */
  stopped: Promise<void>;
  /** The exit code an injected `task-exit` fault imposes. */
  faultExitCode?: number;
}

/** Why a task stopped, as ECS reports it in `stopCode`. */
export type StopCode =
  | 'UserInitiated'
  | 'EssentialContainerExited'
  | 'TaskFailedToStart'
  | 'ServiceSchedulerInitiated';

/** What starting one task takes, from RunTask or from a service's scheduler. */
export interface StartTaskOptions extends Placement {
  startedBy?: string;
  group: string;
  tags: Tag[];
  overrides?: RunTaskRequest['overrides'];
}

/** What the tasks need from the rest of the local AWS. */
export interface TasksDeps {
  clock: LocalClock;
  faults: Faults;
  logs: LogsModel;
  /** The working directory of every task process. */
  repoRoot: string;
  /** Passed to tasks as `LOCAL_DATA_DIR`. */
  dataDir: string;
  /** Time between two batches of the awslogs driver, in AWS time. */
  awslogsIntervalMs: number;
  tags: ResourceTags;
  definitions: TaskDefinitions;
  /** The cluster named or ARN'd, or `ClusterNotFoundException`. */
  cluster(region: string, nameOrArn?: string): Cluster;
}

const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
/** How long DescribeTasks and ListTasks still show a stopped task ("at least one hour"). */
export const STOPPED_TASK_RETENTION_MS = 3_600_000;
const hex32 = () => randomBytes(16).toString('hex');
const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((tag) => tag.key === key)?.value;

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function pairsToEnv(pairs: KeyValuePair[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) if (pair.name !== undefined) env[pair.name] = pair.value ?? '';
  return env;
}

/**
 * Tasks of the local ECS, from RunTask to STOPPED: each container is a real process whose
 * output the awslogs driver publishes, whose exit code is the container's, and which
 * StopTask signals. A stopped task stays visible for an hour of (scaled) time.
 */
export class Tasks {
  private readonly records = new Map<string, TaskRecord>();
  private readonly clientTokens: ClientTokens;
  /** Host ports given to tasks that have not stopped: the OS may hand a released port out again. */
  private readonly portsInUse = new Set<number>();
  private shuttingDown = false;

  constructor(private readonly deps: TasksDeps) {
    this.clientTokens = new ClientTokens(deps.clock);
  }

  /** Milliseconds of AWS time since `sinceMs`: real time multiplied by the time scale. */
  private elapsedMs(sinceMs: number): number {
    return (this.deps.clock.nowMs() - sinceMs) * this.deps.clock.timeScale;
  }

  /**
   * RunTask: starts `count` tasks of the task definition as processes. The same
   * `clientToken` in the same cluster returns the tasks it started for 24 hours, and
   * answers `ConflictException` for a request with other parameters (see run-task-request.ts).
   */
  async runTask(region: string, request: RunTaskRequest): Promise<{ tasks: Task[]; failures: Failure[] }> {
    const cluster = this.deps.cluster(region, request.cluster);
    const definition = this.deps.definitions.get(region, required(request.taskDefinition, 'taskDefinition'));
    const tokenKey = clientTokenKey(cluster, request);
    const earlier = tokenKey ? this.clientTokens.get(tokenKey) : undefined;
    if (earlier) {
      const { taskArns, failures } = await earlier.started;
      checkSameRequest(earlier, request, taskArns);
      return { tasks: taskArns.map((arn) => this.describe(arn, true)), failures };
    }
    const count = validateRunTask(definition, request);
    const placement = { ...placementOf(cluster, request), subnets: subnetsOf(definition, request) };
    const started = this.startAll(region, cluster, definition, request, count, placement);
    if (tokenKey) {
      // Kept before the first await, so that a concurrent retry waits for these tasks.
      this.clientTokens.set(tokenKey, request, started);
      started.catch(() => this.clientTokens.delete(tokenKey));
    }
    const { taskArns, failures } = await started;
    // Nothing started: a retry with the token tries again rather than replaying the failure.
    if (tokenKey && taskArns.length === 0) this.clientTokens.delete(tokenKey, started);
    return { tasks: taskArns.map((arn) => this.describe(arn, true)), failures };
  }

  private async startAll(
    region: string,
    cluster: Cluster,
    definition: TaskDefinition,
    request: RunTaskRequest,
    count: number,
    placement: Placement,
  ): Promise<{ taskArns: string[]; failures: Failure[] }> {
    // The request's tags win over the task definition's of the same key.
    const requested = request.tags ?? [];
    const propagated =
      request.propagateTags === 'TASK_DEFINITION'
        ? this.deps.tags
            .of(definition.taskDefinitionArn as string)
            .filter((tag) => !requested.some((own) => own.key === tag.key))
        : [];
    const tags = [...propagated, ...requested];
    const taskArns: string[] = [];
    const failures: Failure[] = [];
    const clusterName = cluster.clusterName as string;
    for (let index = 0; index < count; index++) {
      const startFailure = this.deps.faults.takeTaskFault('task-start-failure', {
        environment: tagValue(tags, TAGS.environment),
        step: tagValue(tags, TAGS.step),
        cluster: clusterName,
      });
      if (startFailure) {
        failures.push({
          arn: cluster.clusterArn,
          reason: startFailure.reason,
          detail: 'Injected by a local AWS fault.',
        });
        continue;
      }
      const record = await this.start(region, cluster, definition, {
        startedBy: request.startedBy,
        group: request.group ?? `family:${definition.family}`,
        tags,
        overrides: request.overrides,
        ...placement,
      });
      taskArns.push(record.task.taskArn as string);
    }
    return { taskArns, failures };
  }

  /** Starts one task of the definition (PENDING until its processes run); RunTask and services use it. */
  async start(
    region: string,
    cluster: Cluster,
    definition: TaskDefinition,
    options: StartTaskOptions,
  ): Promise<TaskRecord> {
    const clusterName = cluster.clusterName as string;
    const taskId = hex32();
    const taskArn = `arn:aws:ecs:${region}:${ACCOUNT_ID}:task/${clusterName}/${taskId}`;
    const now = new Date();
    const containers: ContainerRun[] = [];
    for (const containerDefinition of definition.containerDefinitions ?? []) {
      const port = (containerDefinition.portMappings ?? []).length > 0 ? await this.hostPort() : undefined;
      containers.push({
        definition: containerDefinition,
        port,
        container: {
          containerArn: `arn:aws:ecs:${region}:${ACCOUNT_ID}:container/${clusterName}/${taskId}/${randomUUID()}`,
          taskArn,
          name: containerDefinition.name,
          image: containerDefinition.image,
          lastStatus: 'PENDING',
          networkBindings:
            port === undefined
              ? []
              : (containerDefinition.portMappings ?? []).map((mapping) => ({
                  bindIP: '127.0.0.1',
                  containerPort: mapping.containerPort,
                  hostPort: port,
                  protocol: mapping.protocol ?? 'tcp',
                })),
          networkInterfaces: [],
          cpu: containerDefinition.cpu === undefined ? undefined : String(containerDefinition.cpu),
          memory: containerDefinition.memory === undefined ? undefined : String(containerDefinition.memory),
        },
      });
    }
    if (this.shuttingDown) {
      for (const run of containers) if (run.port !== undefined) this.portsInUse.delete(run.port);
      // Checked after the last await: a process started now would outlive the shutdown.
      throw new AwsError('ServerException', 'The local AWS is stopping; it starts no more tasks.', 500);
    }
    const task: Task = {
      taskArn,
      clusterArn: cluster.clusterArn,
      taskDefinitionArn: definition.taskDefinitionArn,
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      createdAt: now,
      startedBy: options.startedBy,
      group: options.group,
      launchType: options.launchType,
      capacityProviderName: options.capacityProviderName,
      cpu: definition.cpu,
      memory: definition.memory,
      overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...(options.overrides ?? {}) },
      containers: containers.map((run) => run.container),
      version: 1,
      connectivity: 'CONNECTED',
      availabilityZone: `${region}a`,
      attachments: options.subnets
        ? [
            {
              id: randomUUID(),
              type: 'ElasticNetworkInterface',
              status: 'ATTACHED',
              details: [
                { name: 'subnetId', value: options.subnets[0] },
                { name: 'privateIPv4Address', value: '127.0.0.1' },
              ],
            },
          ]
        : [],
    };
    this.deps.tags.init(taskArn, options.tags);
    const record: TaskRecord = { task, region, clusterName, containers, stopped: Promise.resolve() };
    this.records.set(taskArn, record);
    record.stopped = this.runContainers(record, options.overrides);
    return record;
  }

  /** A free host port that no live task holds. */
  private async hostPort(): Promise<number> {
    for (;;) {
      const port = await freePort();
      if (!this.portsInUse.has(port)) {
        this.portsInUse.add(port);
        return port;
      }
    }
  }

  /** The awslogs driver of a container, or undefined when it logs elsewhere; throws when the stream cannot be created. */
  private openLog(
    record: TaskRecord,
    definition: ContainerDefinition,
    taskId: string,
  ): AwslogsDriver | undefined {
    const config = definition.logConfiguration;
    const group = config?.options?.['awslogs-group'];
    if (config?.logDriver !== 'awslogs' || !group) return undefined;
    const prefix = config.options?.['awslogs-stream-prefix'];
    return AwslogsDriver.open(
      { logs: this.deps.logs, clock: this.deps.clock, intervalMs: this.deps.awslogsIntervalMs },
      {
        region: config.options?.['awslogs-region'] ?? record.region,
        group,
        stream: prefix ? `${prefix}/${definition.name}/${taskId}` : `${definition.name}/${taskId}`,
        createGroup: config.options?.['awslogs-create-group'] === 'true',
      },
    );
  }

  /** Starts every container's process; resolves when all ended and the task is STOPPED. */
  private async runContainers(record: TaskRecord, overrides: RunTaskRequest['overrides']): Promise<void> {
    const { task } = record;
    const taskId = (task.taskArn as string).split('/').pop() as string;
    const tags = this.deps.tags.of(task.taskArn as string);
    const exitFault = this.deps.faults.takeTaskFault('task-exit', {
      environment: tagValue(tags, TAGS.environment),
      step: tagValue(tags, TAGS.step),
      cluster: record.clusterName,
    });
    const endings = record.containers.map((run) => {
      const override = overrides?.containerOverrides?.find((item) => item.name === run.definition.name);
      // As Docker runs it: the entry point, then the command (which overrides replace).
      const command = [
        ...(run.definition.entryPoint ?? []),
        ...(override?.command ?? run.definition.command ?? []),
      ];
      let log: AwslogsDriver | undefined;
      try {
        log = this.openLog(record, run.definition, taskId);
      } catch (error) {
        if (!(error instanceof AwslogsStartError)) throw error;
        return Promise.resolve<ContainerExit>({
          startError: `CannotStartContainerError: Error response from daemon: ${error.message}`,
        });
      }
      const writeLine = (line: string) => log?.write(line);
      if (command.length === 0) {
        log?.close();
        return Promise.resolve<ContainerExit>({
          startError: `CannotStartContainerError: container ${run.definition.name} has neither entryPoint nor command; the local AWS runs them (or the overridden command) as a process.`,
        });
      }
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: process.env.HOME ?? '/',
        AWS_REGION: record.region,
        AWS_DEFAULT_REGION: record.region,
        ...pairsToEnv(run.definition.environment),
        ...pairsToEnv(override?.environment),
        LOCAL_DATA_DIR: this.deps.dataDir,
        ECS_TASK_ARN: task.taskArn as string,
        IMAGE: run.definition.image ?? '',
      };
      if (run.port !== undefined) env.PORT = String(run.port);
      run.process = new ContainerProcess({ command, cwd: this.deps.repoRoot, env, onLine: writeLine });
      run.container.runtimeId = `${taskId}-${run.definition.name}`;
      if (exitFault && run.definition.essential !== false && record.faultExitCode === undefined) {
        record.faultExitCode = exitFault.exitCode;
        const proc = run.process;
        let fired = false;
        const cancel = this.deps.clock.after(exitFault.afterMs ?? 0, () => {
          if (!proc.alive) return;
          fired = true;
          writeLine(
            `[local AWS] fault injected: task-exit, killing the container and reporting exit code ${exitFault.exitCode}`,
          );
          proc.killGroup('SIGKILL');
        });
        void proc.exited.then((exit) => {
          cancel();
          // It ended on its own before the fault's delay: its exit code is still replaced, and says so.
          if (!fired && exit.exitCode !== undefined) {
            writeLine(
              `[local AWS] fault injected: task-exit, reporting exit code ${exitFault.exitCode} instead of ${exit.exitCode}`,
            );
          }
        });
      }
      // The driver publishes the rest once the container's output has all been read.
      return run.process.exited.then((exit) => {
        log?.close();
        return exit;
      });
    });
    // PENDING until the processes run, as RunTask answers before the containers start.
    const starts = await Promise.all(record.containers.map((run) => run.process?.started ?? false));
    starts.forEach((ok, index) => {
      if (ok) record.containers[index].container.lastStatus = 'RUNNING';
    });
    if (starts.some(Boolean) && task.lastStatus === 'PENDING') {
      task.lastStatus = 'RUNNING';
      task.startedAt = new Date();
      task.pullStartedAt = task.createdAt;
      task.pullStoppedAt = task.startedAt;
      task.version = (task.version ?? 0) + 1;
    }
    await Promise.all(
      endings.map(async (ending, index) => {
        const run = record.containers[index];
        const exit = await ending;
        run.cancelKill?.();
        run.container.lastStatus = 'STOPPED';
        if (exit.startError !== undefined) {
          run.container.reason = exit.startError.startsWith('CannotStartContainerError')
            ? exit.startError
            : `CannotStartContainerError: ${exit.startError}`;
          this.stop(record, 'TaskFailedToStart', run.container.reason);
          return;
        }
        const essential = run.definition.essential !== false;
        if (essential && record.faultExitCode !== undefined) {
          run.container.exitCode = record.faultExitCode;
        } else {
          run.container.exitCode = exit.exitCode;
        }
        if (essential) this.stop(record, 'EssentialContainerExited', 'Essential container in task exited');
      }),
    );
    for (const run of record.containers) if (run.port !== undefined) this.portsInUse.delete(run.port);
    task.lastStatus = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    task.stoppedAt = new Date();
    task.executionStoppedAt = task.stoppedAt;
    task.stoppingAt ??= task.stoppedAt;
    task.version = (task.version ?? 0) + 1;
  }

  /**
   * Asks a task to stop: sets its stop code and reason (the first request wins), sends
   * each running container its stop signal (SIGTERM, to the main process), and kills
   * what still runs after the container's stopTimeout (scaled).
   */
  stop(record: TaskRecord, stopCode: StopCode, reason: string): void {
    const { task } = record;
    if (task.lastStatus === 'STOPPED') return;
    if (task.desiredStatus !== 'STOPPED') {
      task.desiredStatus = 'STOPPED';
      task.stopCode = stopCode;
      task.stoppedReason = reason;
      task.stoppingAt = new Date();
      task.version = (task.version ?? 0) + 1;
    }
    if (task.lastStatus === 'RUNNING' || task.lastStatus === 'PENDING') task.lastStatus = 'DEACTIVATING';
    for (const run of record.containers) {
      const proc = run.process;
      if (!proc?.alive || run.cancelKill) continue;
      proc.signal('SIGTERM');
      const timeoutSeconds = run.definition.stopTimeout ?? DEFAULT_STOP_TIMEOUT_SECONDS;
      run.cancelKill = this.deps.clock.after(timeoutSeconds * 1000, () => proc.killGroup('SIGKILL'));
    }
  }

  /** StopTask: returns the task as it is when the stop was requested. */
  stopTask(region: string, clusterRef: string | undefined, taskRef: string, reason?: string): Task {
    const record = this.record(region, clusterRef, taskRef);
    if (!record || !this.visible(record)) {
      throw new AwsError(
        'InvalidParameterException',
        `The referenced task was not found: ${taskRef}. Check the task ARN and cluster.`,
      );
    }
    this.stop(record, 'UserInitiated', reason ?? 'Task stopped by user');
    return this.describe(record.task.taskArn as string, true);
  }

  /** The record of a task by ARN or id within a cluster, visible or not. */
  record(region: string, clusterRef: string | undefined, taskRef: string): TaskRecord | undefined {
    if (taskRef.startsWith('arn:')) return this.records.get(taskRef);
    const cluster = this.deps.cluster(region, clusterRef);
    return this.records.get(`arn:aws:ecs:${region}:${ACCOUNT_ID}:task/${cluster.clusterName}/${taskRef}`);
  }

  /** The record of a task by ARN. */
  byArn(taskArn: string): TaskRecord | undefined {
    return this.records.get(taskArn);
  }

  /** Whether ECS still shows the task: until an hour of (scaled) time after it stopped. */
  visible(record: TaskRecord): boolean {
    const stoppedAt = record.task.stoppedAt;
    return (
      record.task.lastStatus !== 'STOPPED' ||
      stoppedAt === undefined ||
      this.elapsedMs(stoppedAt.getTime()) < STOPPED_TASK_RETENTION_MS
    );
  }

  /** The wire shape of a task, with its tags when `includeTags`. */
  describe(taskArn: string, includeTags: boolean): Task {
    const record = this.records.get(taskArn);
    if (!record)
      throw new AwsError('InvalidParameterException', `The referenced task was not found: ${taskArn}.`);
    return {
      ...record.task,
      containers: record.containers.map((run) => ({ ...run.container })),
      tags: includeTags ? this.deps.tags.of(taskArn) : undefined,
    };
  }

  /** DescribeTasks: the tasks found, and a MISSING failure for each one not found or no longer shown. */
  describeTasks(region: string, clusterRef: string | undefined, refs: string[], includeTags: boolean) {
    const cluster = this.deps.cluster(region, clusterRef);
    if (refs.length === 0 || refs.length > 100) {
      throw new AwsError('InvalidParameterException', `DescribeTasks takes 1-100 tasks, not ${refs.length}.`);
    }
    const tasks: Task[] = [];
    const failures: Failure[] = [];
    for (const ref of refs) {
      const record = this.record(region, clusterRef, ref);
      const shown =
        record &&
        record.task.clusterArn === cluster.clusterArn &&
        this.visible(record) &&
        !this.deps.faults.lagging('ecs', this.elapsedMs(record.task.createdAt?.getTime() ?? 0));
      if (record && shown) tasks.push(this.describe(record.task.taskArn as string, includeTags));
      else failures.push({ arn: ref, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  /**
   * ListTasks: the visible tasks of a cluster with desired status RUNNING unless
   * `desiredStatus` says otherwise. `startedBy` is a filter of its own: with any other
   * filter it is refused.
   */
  list(
    region: string,
    options: {
      cluster?: string;
      startedBy?: string;
      serviceName?: string;
      family?: string;
      desiredStatus?: string;
      launchType?: string;
      containerInstance?: string;
    },
  ): string[] {
    const { startedBy, ...others } = options;
    const otherFilters = (
      ['serviceName', 'family', 'desiredStatus', 'launchType', 'containerInstance'] as const
    ).filter((key) => others[key] !== undefined);
    if (startedBy !== undefined && otherFilters.length > 0) {
      throw new AwsError(
        'InvalidParameterException',
        `cannot specify startedBy with other arguments (${otherFilters.join(', ')}); list by startedBy alone, then filter the tasks DescribeTasks returns.`,
      );
    }
    if (options.family !== undefined && options.serviceName !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        'family and serviceName cannot both be specified; pass one of them.',
      );
    }
    const cluster = this.deps.cluster(region, options.cluster);
    const desired = options.desiredStatus ?? 'RUNNING';
    return [...this.records.values()]
      .filter((record) => record.task.clusterArn === cluster.clusterArn && this.visible(record))
      .map(({ task }) => task)
      .filter((task) => task.desiredStatus === desired)
      .filter((task) => startedBy === undefined || task.startedBy === startedBy)
      .filter((task) => options.serviceName === undefined || task.group === `service:${options.serviceName}`)
      .filter((task) => options.launchType === undefined || task.launchType === options.launchType)
      .filter(
        (task) =>
          options.family === undefined ||
          this.deps.definitions.byArn(task.taskDefinitionArn as string)?.family === options.family,
      )
      .map((task) => task.taskArn as string);
  }

  /** Every task record, visible or not (for the other local services and tests). */
  all(): TaskRecord[] {
    return [...this.records.values()];
  }

  /** Stops every task (SIGKILL to each process group) and waits until all are STOPPED; starts no more. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    // A task whose start was under way when this began shows up on the next pass.
    for (;;) {
      const records = [...this.records.values()].filter((record) => record.task.lastStatus !== 'STOPPED');
      if (records.length === 0) return;
      for (const record of records) {
        this.stop(record, 'UserInitiated', 'The local AWS stopped');
        for (const run of record.containers) run.process?.killGroup('SIGKILL');
      }
      await Promise.all(records.map((record) => record.stopped));
    }
  }

  /** Kills every task process group now, synchronously (for process exit). */
  killAllNow(): void {
    for (const record of this.records.values()) {
      for (const run of record.containers) if (run.process?.alive) run.process.killGroup('SIGKILL');
    }
  }
}
