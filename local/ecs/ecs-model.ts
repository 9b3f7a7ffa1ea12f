import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import type {
  Cluster,
  Container,
  ContainerDefinition,
  DeploymentController,
  Failure,
  KeyValuePair,
  LoadBalancer,
  RegisterTaskDefinitionRequest,
  RunTaskRequest,
  Service,
  Tag,
  Task,
  TaskDefinition,
  TaskSet,
} from '@aws-sdk/client-ecs';
import { TAGS } from '../../lambdas/shared/markers.js';
import { AwsError, required } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import type { LogsModel } from '../logs/logs-model.js';
import { ACCOUNT_ID } from '../server.js';
import { type ContainerExit, ContainerProcess } from './container-process.js';

/** What the ECS model needs from the rest of the local AWS. */
export interface EcsModelOptions {
  clock: LocalClock;
  faults: Faults;
  logs: LogsModel;
  /** The working directory of every task process. */
  repoRoot: string;
  /** Passed to tasks as `LOCAL_DATA_DIR`. */
  dataDir: string;
}

/** One container of a running task. */
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

/** A task set of a service and the tasks it started. */
export interface TaskSetRecord {
  taskSet: TaskSet;
  taskArns: string[];
}

/** A service created by the template deployment; its tasks live in task sets. */
export interface ServiceRecord {
  region: string;
  clusterName: string;
  service: Service;
  taskSets: TaskSetRecord[];
}

/** What `createService` takes: the properties of an `AWS::ECS::Service`, resolved. */
export interface CreateServiceOptions {
  region: string;
  /** Cluster name or ARN. */
  cluster: string;
  name: string;
  taskDefinitionArn: string;
  desiredCount: number;
  loadBalancers?: LoadBalancer[];
  /** @default { type: 'ECS' } */
  deploymentController?: DeploymentController;
  tags?: Tag[];
}

type StopCode =
  | 'UserInitiated'
  | 'EssentialContainerExited'
  | 'TaskFailedToStart'
  | 'ServiceSchedulerInitiated';

const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
/** First wait before the scheduler replaces a service task that stopped on its own (scaled). */
const REPLACEMENT_BASE_DELAY_MS = 5_000;
/** The longest such wait. */
const REPLACEMENT_MAX_DELAY_MS = 300_000;

const hex32 = () => randomBytes(16).toString('hex');
const taskSetId = () =>
  `ecs-svc/${BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString()
    .padStart(19, '0')
    .slice(0, 19)}`;

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

/** Whether a TCP connection to 127.0.0.1:`port` succeeds within `timeoutMs`. */
export function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((tag) => tag.key === key)?.value;

/**
 * ECS of the local AWS: clusters, task definitions, tasks that are real processes,
 * and services whose tasks live in task sets that CodeDeploy drives.
 */
export class EcsModel {
  private readonly clusters = new Map<string, Cluster>();
  private readonly taskDefinitions = new Map<string, TaskDefinition>();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly services = new Map<string, ServiceRecord>();
  private readonly tags = new Map<string, Tag[]>();
  /** Replacements made so far per task set: the back-off before the next one doubles with each. */
  private readonly replacements = new WeakMap<TaskSetRecord, number>();
  private readonly pendingReplacements = new Set<() => void>();
  private shuttingDown = false;
  /** Host ports given to tasks that have not stopped: the OS may hand a released port out again. */
  private readonly portsInUse = new Set<number>();
  private readonly clientTokens = new Map<string, Promise<{ taskArns: string[]; failures: Failure[] }>>();

  constructor(private readonly options: EcsModelOptions) {}

  // ---- clusters ----

  /** Creates a cluster (or returns the existing one of that name). */
  createCluster(region: string, name = 'default', tags: Tag[] = []): Cluster {
    const arn = `arn:aws:ecs:${region}:${ACCOUNT_ID}:cluster/${name}`;
    const existing = this.clusters.get(arn);
    if (existing) return existing;
    const cluster: Cluster = {
      clusterArn: arn,
      clusterName: name,
      status: 'ACTIVE',
      registeredContainerInstancesCount: 0,
      runningTasksCount: 0,
      pendingTasksCount: 0,
      activeServicesCount: 0,
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
    };
    this.clusters.set(arn, cluster);
    if (tags.length > 0) this.tags.set(arn, tags);
    return cluster;
  }

  /** The cluster named or ARN'd, or `ClusterNotFoundException`. */
  cluster(region: string, nameOrArn = 'default'): Cluster {
    const arn = nameOrArn.startsWith('arn:')
      ? nameOrArn
      : `arn:aws:ecs:${region}:${ACCOUNT_ID}:cluster/${nameOrArn}`;
    const cluster = this.clusters.get(arn);
    if (!cluster) {
      throw new AwsError(
        'ClusterNotFoundException',
        `Cluster not found: ${nameOrArn} in ${region}. Create it first, or check the cluster name and Region.`,
      );
    }
    return this.withCounts(cluster);
  }

  /** Every cluster of a Region. */
  listClusters(region: string): Cluster[] {
    return [...this.clusters.values()]
      .filter((cluster) => cluster.clusterArn?.split(':')[3] === region)
      .map((cluster) => this.withCounts(cluster));
  }

  private withCounts(cluster: Cluster): Cluster {
    const tasks = [...this.tasks.values()].filter((record) => record.task.clusterArn === cluster.clusterArn);
    return {
      ...cluster,
      runningTasksCount: tasks.filter((record) => record.task.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((record) => record.task.lastStatus === 'PENDING').length,
      activeServicesCount: [...this.services.values()].filter(
        (record) => record.service.clusterArn === cluster.clusterArn && record.service.status === 'ACTIVE',
      ).length,
    };
  }

  // ---- task definitions ----

  /** Registers a new revision of the request's family. */
  registerTaskDefinition(region: string, request: RegisterTaskDefinitionRequest): TaskDefinition {
    const family = required(request.family, 'family', 'ClientException');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsError(
        'ClientException',
        `Family ${family} is invalid: use up to 255 letters, digits, hyphens and underscores.`,
      );
    }
    const containerDefinitions = required(
      request.containerDefinitions,
      'containerDefinitions',
      'ClientException',
    );
    if (containerDefinitions.length === 0) {
      throw new AwsError(
        'ClientException',
        `Task definition ${family} needs at least one container definition.`,
      );
    }
    for (const container of containerDefinitions) {
      required(container.name, 'containerDefinitions[].name', 'ClientException');
      required(container.image, `containerDefinitions[${container.name}].image`, 'ClientException');
    }
    const revision =
      Math.max(
        0,
        ...[...this.taskDefinitions.values()]
          .filter((def) => def.family === family && def.taskDefinitionArn?.split(':')[3] === region)
          .map((def) => def.revision ?? 0),
      ) + 1;
    const arn = `arn:aws:ecs:${region}:${ACCOUNT_ID}:task-definition/${family}:${revision}`;
    const definition: TaskDefinition = {
      taskDefinitionArn: arn,
      family,
      revision,
      containerDefinitions: containerDefinitions.map((container) => ({
        essential: true,
        environment: [],
        portMappings: [],
        ...container,
      })),
      taskRoleArn: request.taskRoleArn,
      executionRoleArn: request.executionRoleArn,
      networkMode: request.networkMode ?? 'awsvpc',
      requiresCompatibilities: request.requiresCompatibilities,
      compatibilities: ['EC2', 'FARGATE'],
      cpu: request.cpu,
      memory: request.memory,
      volumes: request.volumes ?? [],
      placementConstraints: request.placementConstraints ?? [],
      status: 'ACTIVE',
      registeredAt: new Date(),
      registeredBy: `arn:aws:iam::${ACCOUNT_ID}:root`,
    };
    this.taskDefinitions.set(arn, definition);
    if (request.tags && request.tags.length > 0) this.tags.set(arn, [...request.tags]);
    return definition;
  }

  /**
   * The task definition named by `family` (latest ACTIVE revision), `family:revision`
   * or its ARN; `ClientException` when there is none.
   */
  taskDefinition(region: string, reference: string): TaskDefinition {
    const match =
      /^(?:arn:aws[a-z-]*:ecs:([^:]+):\d{12}:task-definition\/)?([A-Za-z0-9_-]+)(?::(\d+))?$/.exec(reference);
    if (match) {
      const defRegion = match[1] ?? region;
      const [family, revision] = [match[2], match[3]];
      const candidates = [...this.taskDefinitions.values()].filter(
        (def) =>
          def.family === family &&
          def.taskDefinitionArn?.split(':')[3] === defRegion &&
          (revision ? def.revision === Number(revision) : def.status === 'ACTIVE'),
      );
      const found = candidates.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
      if (found) return found;
    }
    throw new AwsError(
      'ClientException',
      `Unable to describe task definition ${reference} in ${region}: it does not exist. Register it first, or check the family, revision and Region.`,
    );
  }

  /** Task definition ARNs of a Region, optionally of one family and status, sorted by family and revision. */
  listTaskDefinitions(
    region: string,
    options: { family?: string; status?: string; sort?: string },
  ): string[] {
    const status = options.status ?? 'ACTIVE';
    const defs = [...this.taskDefinitions.values()]
      .filter(
        (def) =>
          def.taskDefinitionArn?.split(':')[3] === region &&
          (options.family === undefined || def.family === options.family) &&
          def.status === status,
      )
      .sort((a, b) =>
        (a.family ?? '') < (b.family ?? '')
          ? -1
          : (a.family ?? '') > (b.family ?? '')
            ? 1
            : (a.revision ?? 0) - (b.revision ?? 0),
      );
    if (options.sort === 'DESC') defs.reverse();
    return defs.map((def) => def.taskDefinitionArn as string);
  }

  /**
   * Task definition families of a Region whose names start with `prefix`; with status
   * ACTIVE only those with an ACTIVE revision, with INACTIVE only those without one.
   */
  listTaskDefinitionFamilies(region: string, options: { prefix?: string; status?: string }): string[] {
    const active = new Map<string, boolean>();
    for (const def of this.taskDefinitions.values()) {
      if (def.taskDefinitionArn?.split(':')[3] !== region || !def.family?.startsWith(options.prefix ?? ''))
        continue;
      active.set(def.family, (active.get(def.family) ?? false) || def.status === 'ACTIVE');
    }
    return [...active.entries()]
      .filter(([, hasActive]) =>
        options.status === 'ACTIVE' ? hasActive : options.status === 'INACTIVE' ? !hasActive : true,
      )
      .map(([family]) => family)
      .sort();
  }

  /** Marks a revision INACTIVE; running tasks keep running. */
  deregisterTaskDefinition(region: string, reference: string): TaskDefinition {
    if (!/:\d+$/.test(reference)) {
      throw new AwsError(
        'ClientException',
        `DeregisterTaskDefinition needs a revision (family:revision or ARN), not ${reference}.`,
      );
    }
    const definition = this.taskDefinition(region, reference);
    definition.status = 'INACTIVE';
    definition.deregisteredAt = new Date();
    return definition;
  }

  // ---- tags ----

  /** Tags of a resource by ARN. */
  tagsOf(arn: string): Tag[] {
    return [...(this.tags.get(arn) ?? [])];
  }

  /** Adds or replaces tags of a resource by ARN. */
  tagResource(arn: string, tags: Tag[]): void {
    if (!this.resourceExists(arn)) {
      throw new AwsError(
        'InvalidParameterException',
        `The specified resource ${arn} does not exist; check the ARN.`,
      );
    }
    const merged = new Map(this.tagsOf(arn).map((tag) => [tag.key, tag]));
    for (const tag of tags) merged.set(tag.key, tag);
    this.tags.set(arn, [...merged.values()]);
  }

  /** Removes tags of a resource by key. */
  untagResource(arn: string, keys: string[]): void {
    this.tags.set(
      arn,
      this.tagsOf(arn).filter((tag) => !keys.includes(tag.key ?? '')),
    );
  }

  private resourceExists(arn: string): boolean {
    return (
      this.clusters.has(arn) ||
      this.taskDefinitions.has(arn) ||
      this.tasks.has(arn) ||
      [...this.services.values()].some((record) => record.service.serviceArn === arn)
    );
  }

  // ---- tasks ----

  /**
   * RunTask: starts `count` tasks of the task definition as processes, or returns the
   * tasks already started with the same `clientToken` in the same cluster.
   */
  async runTask(region: string, request: RunTaskRequest): Promise<{ tasks: Task[]; failures: Failure[] }> {
    const cluster = this.cluster(region, request.cluster);
    const definition = this.taskDefinition(region, required(request.taskDefinition, 'taskDefinition'));
    const tokenKey = request.clientToken ? `${cluster.clusterArn}|${request.clientToken}` : undefined;
    const earlier = tokenKey ? this.clientTokens.get(tokenKey) : undefined;
    if (earlier) {
      const { taskArns, failures } = await earlier;
      return { tasks: taskArns.map((arn) => this.describe(arn, true)), failures };
    }
    if (definition.status !== 'ACTIVE') {
      throw new AwsError(
        'ClientException',
        `TaskDefinition ${definition.taskDefinitionArn} is inactive; run an ACTIVE revision.`,
      );
    }
    if (request.startedBy !== undefined && !/^[A-Za-z0-9_-]{1,36}$/.test(request.startedBy)) {
      throw new AwsError(
        'InvalidParameterException',
        `startedBy ${request.startedBy} is invalid: up to 36 letters (uppercase and lowercase), numbers, hyphens and underscores are allowed.`,
      );
    }
    if (
      request.clientToken !== undefined &&
      (request.clientToken.length < 1 || request.clientToken.length > 64)
    ) {
      throw new AwsError(
        'InvalidParameterException',
        `clientToken ${request.clientToken} is invalid: it must be 1-64 characters.`,
      );
    }
    const count = request.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 10) {
      throw new AwsError(
        'InvalidParameterException',
        `count ${count} is invalid: RunTask starts 1-10 tasks.`,
      );
    }
    for (const override of request.overrides?.containerOverrides ?? []) {
      if (!definition.containerDefinitions?.some((container) => container.name === override.name)) {
        throw new AwsError(
          'InvalidParameterException',
          `Override for container named ${override.name} is not a container in the TaskDefinition ${definition.taskDefinitionArn}.`,
        );
      }
    }
    const started = this.startTasks(region, cluster, definition, request, count);
    if (tokenKey) {
      // Kept before the first await, so that a concurrent retry waits for these tasks.
      this.clientTokens.set(tokenKey, started);
      started.catch(() => this.clientTokens.delete(tokenKey));
    }
    const { taskArns, failures } = await started;
    // Nothing started: a retry with the token tries again rather than replaying the failure.
    if (tokenKey && taskArns.length === 0 && this.clientTokens.get(tokenKey) === started) {
      this.clientTokens.delete(tokenKey);
    }
    return { tasks: taskArns.map((arn) => this.describe(arn, true)), failures };
  }

  private async startTasks(
    region: string,
    cluster: Cluster,
    definition: TaskDefinition,
    request: RunTaskRequest,
    count: number,
  ): Promise<{ taskArns: string[]; failures: Failure[] }> {
    const tags = request.tags ?? [];
    const taskArns: string[] = [];
    const failures: Failure[] = [];
    const clusterName = cluster.clusterName as string;
    for (let index = 0; index < count; index++) {
      const startFailure = this.options.faults.takeTaskFault('task-start-failure', {
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
      const record = await this.startTask(region, cluster, definition, {
        startedBy: request.startedBy,
        group: request.group ?? `family:${definition.family}`,
        tags,
        overrides: request.overrides,
        launchType: request.launchType ?? (request.capacityProviderStrategy ? undefined : 'FARGATE'),
      });
      taskArns.push(record.task.taskArn as string);
    }
    return { taskArns, failures };
  }

  private async startTask(
    region: string,
    cluster: Cluster,
    definition: TaskDefinition,
    options: {
      startedBy?: string;
      group: string;
      tags: Tag[];
      overrides?: RunTaskRequest['overrides'];
      launchType?: Task['launchType'];
    },
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
      cpu: definition.cpu,
      memory: definition.memory,
      overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...(options.overrides ?? {}) },
      containers: containers.map((run) => run.container),
      version: 1,
      connectivity: 'CONNECTED',
      availabilityZone: `${region}a`,
      attachments: [],
    };
    if (options.tags.length > 0) this.tags.set(taskArn, [...options.tags]);
    const record: TaskRecord = { task, region, clusterName, containers, stopped: Promise.resolve() };
    this.tasks.set(taskArn, record);
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

  /** Starts every container's process; resolves when all ended and the task is STOPPED. */
  private async runContainers(record: TaskRecord, overrides: RunTaskRequest['overrides']): Promise<void> {
    const { task } = record;
    const taskId = (task.taskArn as string).split('/').pop() as string;
    const tags = this.tagsOf(task.taskArn as string);
    const exitFault = this.options.faults.takeTaskFault('task-exit', {
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
      const writeLine = this.logWriter(record, run.definition, taskId);
      if (command.length === 0) {
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
        LOCAL_DATA_DIR: this.options.dataDir,
        ECS_TASK_ARN: task.taskArn as string,
        IMAGE: run.definition.image ?? '',
      };
      if (run.port !== undefined) env.PORT = String(run.port);
      run.process = new ContainerProcess({ command, cwd: this.options.repoRoot, env, onLine: writeLine });
      run.container.runtimeId = `${taskId}-${run.definition.name}`;
      if (exitFault && run.definition.essential !== false && record.faultExitCode === undefined) {
        record.faultExitCode = exitFault.exitCode;
        const proc = run.process;
        let fired = false;
        const cancel = this.options.clock.after(exitFault.afterMs ?? 0, () => {
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
      return run.process.exited;
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
          this.stopTaskInternal(record, 'TaskFailedToStart', run.container.reason);
          return;
        }
        const essential = run.definition.essential !== false;
        if (essential && record.faultExitCode !== undefined) {
          run.container.exitCode = record.faultExitCode;
        } else {
          run.container.exitCode = exit.exitCode;
        }
        if (essential)
          this.stopTaskInternal(record, 'EssentialContainerExited', 'Essential container in task exited');
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

  /** A function that writes a line to the container's awslogs stream (or nowhere without awslogs). */
  private logWriter(
    record: TaskRecord,
    definition: ContainerDefinition,
    taskId: string,
  ): (line: string) => void {
    const config = definition.logConfiguration;
    if (config?.logDriver !== 'awslogs') return () => {};
    const group = config.options?.['awslogs-group'];
    if (!group) return () => {};
    const region = config.options?.['awslogs-region'] ?? record.region;
    const prefix = config.options?.['awslogs-stream-prefix'];
    const stream = prefix ? `${prefix}/${definition.name}/${taskId}` : `${definition.name}/${taskId}`;
    return (line) => {
      // CloudWatch Logs takes no empty message; the awslogs driver drops empty lines too.
      if (line === '') return;
      try {
        this.options.logs.appendLine(region, group, stream, line);
      } catch (error) {
        // A task's output must never take the local AWS down (a deleted group, say).
        process.stderr.write(
          `local AWS: could not log a line of ${record.task.taskArn} to ${group}/${stream}: ${String(error)}\n`,
        );
      }
    };
  }

  /**
   * Asks a task to stop: sets its stop code and reason (the first request wins), sends
   * each running container its stop signal (SIGTERM, to the main process), and kills
   * what still runs after the container's stopTimeout (scaled).
   */
  private stopTaskInternal(record: TaskRecord, stopCode: StopCode, reason: string): void {
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
      run.cancelKill = this.options.clock.after(timeoutSeconds * 1000, () => proc.killGroup('SIGKILL'));
    }
  }

  /** StopTask: returns the task as it is when the stop was requested. */
  stopTask(region: string, clusterRef: string | undefined, taskRef: string, reason?: string): Task {
    const record = this.taskRecord(region, clusterRef, taskRef);
    if (!record) {
      throw new AwsError(
        'InvalidParameterException',
        `The referenced task was not found: ${taskRef}. Check the task ARN and cluster.`,
      );
    }
    this.stopTaskInternal(record, 'UserInitiated', reason ?? 'Task stopped by user');
    return this.describe(record.task.taskArn as string, true);
  }

  /** The record of a task by ARN or id within a cluster. */
  taskRecord(region: string, clusterRef: string | undefined, taskRef: string): TaskRecord | undefined {
    if (taskRef.startsWith('arn:')) return this.tasks.get(taskRef);
    const cluster = this.cluster(region, clusterRef);
    return this.tasks.get(`arn:aws:ecs:${region}:${ACCOUNT_ID}:task/${cluster.clusterName}/${taskRef}`);
  }

  /** The wire shape of a task, with its tags when `includeTags`. */
  describe(taskArn: string, includeTags: boolean): Task {
    const record = this.tasks.get(taskArn);
    if (!record)
      throw new AwsError('InvalidParameterException', `The referenced task was not found: ${taskArn}.`);
    return {
      ...record.task,
      containers: record.containers.map((run) => ({ ...run.container })),
      tags: includeTags ? this.tagsOf(taskArn) : undefined,
    };
  }

  /** DescribeTasks: the tasks found, and a MISSING failure for each one not found. */
  describeTasks(region: string, clusterRef: string | undefined, refs: string[], includeTags: boolean) {
    const cluster = this.cluster(region, clusterRef);
    if (refs.length === 0 || refs.length > 100) {
      throw new AwsError('InvalidParameterException', `DescribeTasks takes 1-100 tasks, not ${refs.length}.`);
    }
    const tasks: Task[] = [];
    const failures: Failure[] = [];
    for (const ref of refs) {
      const record = this.taskRecord(region, clusterRef, ref);
      if (record && record.task.clusterArn === cluster.clusterArn)
        tasks.push(this.describe(record.task.taskArn as string, includeTags));
      else failures.push({ arn: ref, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  /** ListTasks filters; tasks with desired status RUNNING unless `desiredStatus` says otherwise. */
  listTasks(
    region: string,
    options: {
      cluster?: string;
      startedBy?: string;
      serviceName?: string;
      family?: string;
      desiredStatus?: string;
      launchType?: string;
    },
  ): string[] {
    const cluster = this.cluster(region, options.cluster);
    const desired = options.desiredStatus ?? 'RUNNING';
    return [...this.tasks.values()]
      .filter(({ task }) => task.clusterArn === cluster.clusterArn)
      .filter(({ task }) => task.desiredStatus === desired)
      .filter(({ task }) => options.startedBy === undefined || task.startedBy === options.startedBy)
      .filter(
        ({ task }) => options.serviceName === undefined || task.group === `service:${options.serviceName}`,
      )
      .filter(({ task }) => options.launchType === undefined || task.launchType === options.launchType)
      .filter(
        ({ task }) =>
          options.family === undefined ||
          this.taskDefinitions.get(task.taskDefinitionArn as string)?.family === options.family,
      )
      .map(({ task }) => task.taskArn as string);
  }

  /** Every task record (for the other local services and tests). */
  allTasks(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  // ---- services and task sets ----

  /** Creates a service and starts its first task set (PRIMARY) with `desiredCount` tasks. */
  async createService(options: CreateServiceOptions): Promise<ServiceRecord> {
    const cluster = this.cluster(options.region, options.cluster);
    const clusterName = cluster.clusterName as string;
    const serviceArn = `arn:aws:ecs:${options.region}:${ACCOUNT_ID}:service/${clusterName}/${options.name}`;
    if (this.services.get(serviceArn)?.service.status === 'ACTIVE') {
      throw new AwsError(
        'InvalidParameterException',
        `Creation of service was not idempotent: ${options.name} exists in ${clusterName}.`,
      );
    }
    const definition = this.taskDefinition(options.region, options.taskDefinitionArn);
    const record: ServiceRecord = {
      region: options.region,
      clusterName,
      taskSets: [],
      service: {
        serviceArn,
        serviceName: options.name,
        clusterArn: cluster.clusterArn,
        status: 'ACTIVE',
        desiredCount: options.desiredCount,
        runningCount: 0,
        pendingCount: 0,
        launchType: 'FARGATE',
        taskDefinition: definition.taskDefinitionArn,
        deploymentController: options.deploymentController ?? { type: 'ECS' },
        loadBalancers: options.loadBalancers ?? [],
        schedulingStrategy: 'REPLICA',
        createdAt: new Date(),
        createdBy: `arn:aws:iam::${ACCOUNT_ID}:root`,
        events: [],
      },
    };
    this.services.set(serviceArn, record);
    if (options.tags && options.tags.length > 0) this.tags.set(serviceArn, [...options.tags]);
    const first = await this.createTaskSet(record, definition.taskDefinitionArn as string);
    this.setPrimaryTaskSet(record, first);
    return record;
  }

  /** The service by name or ARN, or `ServiceNotFoundException`. */
  service(region: string, clusterRef: string | undefined, nameOrArn: string): ServiceRecord {
    const record = this.findService(region, clusterRef, nameOrArn);
    if (!record) {
      throw new AwsError(
        'ServiceNotFoundException',
        `Service not found: ${nameOrArn} in cluster ${clusterRef ?? 'default'} (${region}).`,
      );
    }
    return record;
  }

  private findService(
    region: string,
    clusterRef: string | undefined,
    nameOrArn: string,
  ): ServiceRecord | undefined {
    if (nameOrArn.startsWith('arn:')) return this.services.get(nameOrArn);
    const cluster = this.cluster(region, clusterRef);
    return this.services.get(
      `arn:aws:ecs:${region}:${ACCOUNT_ID}:service/${cluster.clusterName}/${nameOrArn}`,
    );
  }

  /** Starts a task set of `desiredCount` tasks of the task definition; status ACTIVE until made primary. */
  async createTaskSet(
    service: ServiceRecord,
    taskDefinitionArn: string,
    options: { externalId?: string } = {},
  ): Promise<TaskSetRecord> {
    const definition = this.taskDefinition(service.region, taskDefinitionArn);
    const id = taskSetId();
    const now = new Date();
    const record: TaskSetRecord = {
      taskArns: [],
      taskSet: {
        id,
        taskSetArn: `arn:aws:ecs:${service.region}:${ACCOUNT_ID}:task-set/${service.clusterName}/${service.service.serviceName}/${id}`,
        serviceArn: service.service.serviceArn,
        clusterArn: service.service.clusterArn,
        externalId: options.externalId,
        status: 'ACTIVE',
        taskDefinition: definition.taskDefinitionArn,
        computedDesiredCount: service.service.desiredCount,
        launchType: 'FARGATE',
        loadBalancers: service.service.loadBalancers,
        scale: { value: 100, unit: 'PERCENT' },
        stabilityStatus: 'STABILIZING',
        stabilityStatusAt: now,
        createdAt: now,
        updatedAt: now,
      },
    };
    service.taskSets.push(record);
    for (let index = 0; index < (service.service.desiredCount ?? 0); index++) {
      record.taskArns.push(await this.startServiceTask(service, record));
    }
    return record;
  }

  /**
   * Starts one task of a task set, and arranges for the scheduler to replace it when it
   * stops on its own (it exited, or failed to start), after a back-off that doubles with
   * every replacement in the set, as ECS throttles a service whose tasks keep failing.
   * Tasks stopped by StopTask, by a task set's deletion or by shutdown are not replaced.
   */
  private async startServiceTask(service: ServiceRecord, set: TaskSetRecord): Promise<string> {
    const cluster = this.cluster(service.region, service.clusterName);
    const definition = this.taskDefinition(service.region, set.taskSet.taskDefinition as string);
    const record = await this.startTask(service.region, cluster, definition, {
      startedBy: set.taskSet.id,
      group: `service:${service.service.serviceName}`,
      tags: [],
      launchType: 'FARGATE',
    });
    const taskArn = record.task.taskArn as string;
    void record.stopped.then(() => {
      const stopCode = record.task.stopCode;
      if (stopCode !== 'EssentialContainerExited' && stopCode !== 'TaskFailedToStart') return;
      if (!this.scheduling(service, set)) return;
      const attempt = (this.replacements.get(set) ?? 0) + 1;
      this.replacements.set(set, attempt);
      const delayMs = Math.min(REPLACEMENT_BASE_DELAY_MS * 2 ** (attempt - 1), REPLACEMENT_MAX_DELAY_MS);
      const cancel = this.options.clock.after(delayMs, () => {
        this.pendingReplacements.delete(cancel);
        if (!this.scheduling(service, set)) return;
        void this.startServiceTask(service, set).then(
          (replacement) => {
            // Swapped only once the replacement exists, so the set never looks complete without it.
            const index = set.taskArns.indexOf(taskArn);
            if (index >= 0) set.taskArns[index] = replacement;
            else set.taskArns.push(replacement);
            if (!this.scheduling(service, set)) {
              const started = this.tasks.get(replacement);
              if (started)
                this.stopTaskInternal(started, 'ServiceSchedulerInitiated', 'Task set no longer active');
            }
          },
          (error: unknown) => {
            process.stderr.write(
              `local AWS: could not replace task ${taskArn} of service ${service.service.serviceName}: ${String(error)}\n`,
            );
          },
        );
      });
      this.pendingReplacements.add(cancel);
    });
    return taskArn;
  }

  /** Whether the scheduler still keeps the task set's tasks running. */
  private scheduling(service: ServiceRecord, set: TaskSetRecord): boolean {
    return (
      !this.shuttingDown &&
      service.service.status === 'ACTIVE' &&
      service.taskSets.includes(set) &&
      set.taskSet.status !== 'DRAINING'
    );
  }

  /** Makes `taskSet` the service's PRIMARY (the one it reports as its task definition). */
  setPrimaryTaskSet(service: ServiceRecord, taskSet: TaskSetRecord): void {
    for (const other of service.taskSets) {
      if (other !== taskSet && other.taskSet.status === 'PRIMARY') {
        other.taskSet.status = 'ACTIVE';
        other.taskSet.updatedAt = new Date();
      }
    }
    taskSet.taskSet.status = 'PRIMARY';
    taskSet.taskSet.updatedAt = new Date();
    service.service.taskDefinition = taskSet.taskSet.taskDefinition;
  }

  /** Drains a task set: stops its tasks with their stop signal; resolves when they stopped and it is gone. */
  async deleteTaskSet(service: ServiceRecord, taskSet: TaskSetRecord, reason?: string): Promise<void> {
    taskSet.taskSet.status = 'DRAINING';
    taskSet.taskSet.updatedAt = new Date();
    const records = taskSet.taskArns
      .map((arn) => this.tasks.get(arn))
      .filter((record) => record !== undefined);
    for (const record of records) {
      this.stopTaskInternal(
        record,
        'ServiceSchedulerInitiated',
        reason ?? `Task set ${taskSet.taskSet.id} of service ${service.service.serviceName} deleted`,
      );
    }
    await Promise.all(records.map((record) => record.stopped));
    service.taskSets = service.taskSets.filter((item) => item !== taskSet);
  }

  /**
   * Whether every task of the task set runs: as many as it should have, RUNNING, the
   * processes of their essential containers alive, and a TCP connection to each running
   * container's mapped port succeeds.
   */
  async isTaskSetHealthy(taskSet: TaskSetRecord): Promise<boolean> {
    if (taskSet.taskArns.length < (taskSet.taskSet.computedDesiredCount ?? 0)) return false;
    const records = taskSet.taskArns.map((arn) => this.tasks.get(arn));
    for (const record of records) {
      if (record?.task.lastStatus !== 'RUNNING') return false;
      for (const run of record.containers) {
        // A non-essential container may have finished its work (an init step, say).
        if (!run.process?.alive) {
          if (run.definition.essential !== false) return false;
          continue;
        }
        if (run.port !== undefined && !(await canConnect(run.port))) return false;
      }
    }
    return true;
  }

  /** The wire shape of a service, with its task sets (CODE_DEPLOY/EXTERNAL) or deployments (ECS). */
  describeService(record: ServiceRecord, includeTags: boolean): Service {
    const counts = (taskArns: string[]) => {
      const statuses = taskArns.map((arn) => this.tasks.get(arn)?.task.lastStatus);
      return {
        runningCount: statuses.filter((status) => status === 'RUNNING').length,
        pendingCount: statuses.filter((status) => status === 'PENDING').length,
      };
    };
    const taskSets = record.taskSets.map((set) => {
      const { runningCount, pendingCount } = counts(set.taskArns);
      return {
        ...set.taskSet,
        runningCount,
        pendingCount,
        stabilityStatus: runningCount === set.taskSet.computedDesiredCount ? 'STEADY_STATE' : 'STABILIZING',
      } satisfies TaskSet;
    });
    const all = counts(record.taskSets.flatMap((set) => set.taskArns));
    const controller = record.service.deploymentController?.type ?? 'ECS';
    return {
      ...record.service,
      ...all,
      taskSets: controller === 'ECS' ? undefined : taskSets,
      deployments:
        controller === 'ECS'
          ? taskSets.map((set) => ({
              id: set.id,
              status: set.status === 'PRIMARY' ? 'PRIMARY' : 'ACTIVE',
              taskDefinition: set.taskDefinition,
              desiredCount: set.computedDesiredCount,
              runningCount: set.runningCount,
              pendingCount: set.pendingCount,
              launchType: set.launchType,
              createdAt: set.createdAt,
              updatedAt: set.updatedAt,
              rolloutState: set.stabilityStatus === 'STEADY_STATE' ? 'COMPLETED' : 'IN_PROGRESS',
            }))
          : [],
      tags: includeTags ? this.tagsOf(record.service.serviceArn as string) : undefined,
    };
  }

  /** DescribeServices: the services found, a MISSING failure for each one not found. */
  describeServices(region: string, clusterRef: string | undefined, refs: string[], includeTags: boolean) {
    const cluster = this.cluster(region, clusterRef);
    if (refs.length === 0 || refs.length > 10) {
      throw new AwsError(
        'InvalidParameterException',
        `DescribeServices takes 1-10 services, not ${refs.length}.`,
      );
    }
    const services: Service[] = [];
    const failures: Failure[] = [];
    for (const ref of refs) {
      const record = this.findService(region, clusterRef, ref);
      if (record && record.service.clusterArn === cluster.clusterArn)
        services.push(this.describeService(record, includeTags));
      else
        failures.push({
          arn: ref.startsWith('arn:')
            ? ref
            : `arn:aws:ecs:${region}:${ACCOUNT_ID}:service/${cluster.clusterName}/${ref}`,
          reason: 'MISSING',
        });
    }
    return { services, failures };
  }

  /** Service ARNs of a cluster. */
  listServices(region: string, clusterRef: string | undefined): string[] {
    const cluster = this.cluster(region, clusterRef);
    return [...this.services.values()]
      .filter(
        (record) => record.service.clusterArn === cluster.clusterArn && record.service.status === 'ACTIVE',
      )
      .map((record) => record.service.serviceArn as string);
  }

  /** The task set of a service by id or ARN. */
  taskSet(service: ServiceRecord, idOrArn: string): TaskSetRecord | undefined {
    return service.taskSets.find((set) => set.taskSet.id === idOrArn || set.taskSet.taskSetArn === idOrArn);
  }

  // ---- lifecycle ----

  /** Kills every task process (SIGKILL to each process group) and waits until all are STOPPED. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const cancel of this.pendingReplacements) cancel();
    this.pendingReplacements.clear();
    // A task whose start was under way when this began shows up on the next pass.
    for (;;) {
      const records = [...this.tasks.values()].filter((record) => record.task.lastStatus !== 'STOPPED');
      if (records.length === 0) return;
      for (const record of records) {
        this.stopTaskInternal(record, 'UserInitiated', 'The local AWS stopped');
        for (const run of record.containers) run.process?.killGroup('SIGKILL');
      }
      await Promise.all(records.map((record) => record.stopped));
    }
  }

  /** Kills every task process group now, synchronously (for process exit). */
  killAllNow(): void {
    for (const record of this.tasks.values()) {
      for (const run of record.containers) if (run.process?.alive) run.process.killGroup('SIGKILL');
    }
  }
}

function pairsToEnv(pairs: KeyValuePair[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) if (pair.name !== undefined) env[pair.name] = pair.value ?? '';
  return env;
}
