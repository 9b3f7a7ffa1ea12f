import type {
  CapacityProviderStrategyItem,
  Cluster,
  RegisterTaskDefinitionRequest,
  Tag,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import { AWSLOGS_DEFAULT_INTERVAL_MS } from '../logs/awslogs-driver.js';
import type { LogsModel } from '../logs/logs-model.js';
import { ACCOUNT_ID } from '../server.js';
import { ResourceTags, validateTags } from './resource-tags.js';
import { type CreateServiceOptions, type ServiceRecord, Services, type TaskSetRecord } from './services.js';
import { TaskDefinitions } from './task-definitions.js';
import { type TaskRecord, Tasks } from './tasks.js';

export type { CreateServiceOptions, ServiceRecord, TaskSetRecord } from './services.js';
export type { ContainerRun, TaskRecord } from './tasks.js';

/** What the ECS model needs from the rest of the local AWS. */
export interface EcsModelOptions {
  clock: LocalClock;
  faults: Faults;
  logs: LogsModel;
  /** The working directory of every task process. */
  repoRoot: string;
  /** Passed to tasks as `LOCAL_DATA_DIR`. */
  dataDir: string;
  /** Time between two batches of the awslogs driver, in AWS time. @default 5000, Docker's */
  awslogsIntervalMs?: number;
}

/** The capacity providers of a cluster and the strategy RunTask uses when given neither it nor a launch type. */
export interface ClusterCapacity {
  capacityProviders?: string[];
  defaultCapacityProviderStrategy?: CapacityProviderStrategyItem[];
}

/**
 * ECS of the local AWS: clusters and tags here; task definitions, tasks (real processes)
 * and services with their task sets (which CodeDeploy drives) each in a model of its own.
 */
export class EcsModel {
  readonly taskDefinitions: TaskDefinitions;
  readonly tasks: Tasks;
  readonly services: Services;
  private readonly clusters = new Map<string, Cluster>();
  private readonly tags = new ResourceTags();

  constructor(options: EcsModelOptions) {
    const cluster = (region: string, nameOrArn?: string) => this.cluster(region, nameOrArn);
    this.taskDefinitions = new TaskDefinitions(this.tags);
    this.tasks = new Tasks({
      clock: options.clock,
      faults: options.faults,
      logs: options.logs,
      repoRoot: options.repoRoot,
      dataDir: options.dataDir,
      awslogsIntervalMs: options.awslogsIntervalMs ?? AWSLOGS_DEFAULT_INTERVAL_MS,
      tags: this.tags,
      definitions: this.taskDefinitions,
      cluster,
    });
    this.services = new Services({
      clock: options.clock,
      tasks: this.tasks,
      definitions: this.taskDefinitions,
      tags: this.tags,
      cluster,
    });
  }

  // ---- clusters ----

  /** Creates a cluster (or returns the existing one of that name). */
  createCluster(region: string, name = 'default', tags: Tag[] = [], capacity: ClusterCapacity = {}): Cluster {
    validateTags(tags);
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
      capacityProviders: [],
      defaultCapacityProviderStrategy: [],
    };
    this.clusters.set(arn, cluster);
    this.setCapacity(cluster, capacity);
    this.tags.init(arn, tags);
    return cluster;
  }

  /** PutClusterCapacityProviders: replaces the cluster's capacity providers and default strategy. */
  putClusterCapacityProviders(region: string, clusterRef: string, capacity: ClusterCapacity): Cluster {
    const cluster = this.clusters.get(this.cluster(region, clusterRef).clusterArn as string) as Cluster;
    this.setCapacity(cluster, capacity);
    return this.cluster(region, clusterRef);
  }

  private setCapacity(cluster: Cluster, capacity: ClusterCapacity): void {
    const providers = capacity.capacityProviders ?? [];
    for (const item of capacity.defaultCapacityProviderStrategy ?? []) {
      if (!providers.includes(item.capacityProvider ?? '')) {
        throw new AwsError(
          'InvalidParameterException',
          `The default capacity provider strategy names ${item.capacityProvider}, which is not among the cluster's capacity providers (${providers.join(', ') || 'none'}); associate it first.`,
        );
      }
    }
    cluster.capacityProviders = [...providers];
    cluster.defaultCapacityProviderStrategy = [...(capacity.defaultCapacityProviderStrategy ?? [])];
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
    const tasks = this.tasks.all().filter((record) => record.task.clusterArn === cluster.clusterArn);
    return {
      ...cluster,
      runningTasksCount: tasks.filter((record) => record.task.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((record) => record.task.lastStatus === 'PENDING').length,
      activeServicesCount: this.services
        .all()
        .filter(
          (record) => record.service.clusterArn === cluster.clusterArn && record.service.status === 'ACTIVE',
        ).length,
    };
  }

  // ---- tags ----

  /** Tags of a resource by ARN. */
  tagsOf(arn: string): Tag[] {
    return this.tags.of(arn);
  }

  /** Adds or replaces tags of a resource by ARN. */
  tagResource(arn: string, tags: Tag[]): void {
    const exists =
      this.clusters.has(arn) ||
      this.taskDefinitions.byArn(arn) !== undefined ||
      this.tasks.byArn(arn) !== undefined ||
      this.services.has(arn);
    if (!exists) {
      throw new AwsError(
        'InvalidParameterException',
        `The specified resource ${arn} does not exist; check the ARN.`,
      );
    }
    validateTags(tags, this.tags.of(arn));
    this.tags.merge(arn, tags);
  }

  /** Removes tags of a resource by key. */
  untagResource(arn: string, keys: string[]): void {
    this.tags.remove(arn, keys);
  }

  // ---- what the template deployment, CodeDeploy and tests use ----

  /** Registers a new revision of the request's family. */
  registerTaskDefinition(region: string, request: RegisterTaskDefinitionRequest): TaskDefinition {
    return this.taskDefinitions.register(region, request);
  }

  /** Task definition ARNs of a Region (see {@link TaskDefinitions.list}). */
  listTaskDefinitions(
    region: string,
    options: { family?: string; status?: string; sort?: string },
  ): string[] {
    return this.taskDefinitions.list(region, options);
  }

  /** The wire shape of a task by ARN, with its tags when `includeTags`. */
  describe(taskArn: string, includeTags: boolean): Task {
    return this.tasks.describe(taskArn, includeTags);
  }

  /** Every task record, whether ECS still shows it or not. */
  allTasks(): TaskRecord[] {
    return this.tasks.all();
  }

  /** Creates a service and starts its first task set. */
  createService(options: CreateServiceOptions): Promise<ServiceRecord> {
    return this.services.create(options);
  }

  /** The service by name or ARN, or `ServiceNotFoundException`. */
  service(region: string, clusterRef: string | undefined, nameOrArn: string): ServiceRecord {
    return this.services.get(region, clusterRef, nameOrArn);
  }

  /** The task set of a service by id or ARN. */
  taskSet(service: ServiceRecord, idOrArn: string): TaskSetRecord | undefined {
    return this.services.taskSet(service, idOrArn);
  }

  /** Starts a task set of the service's desired count of tasks. */
  createTaskSet(
    service: ServiceRecord,
    taskDefinitionArn: string,
    options: { externalId?: string } = {},
  ): Promise<TaskSetRecord> {
    return this.services.createTaskSet(service, taskDefinitionArn, options);
  }

  /** Makes `taskSet` the service's PRIMARY. */
  setPrimaryTaskSet(service: ServiceRecord, taskSet: TaskSetRecord): void {
    this.services.setPrimaryTaskSet(service, taskSet);
  }

  /** Drains a task set and removes it once its tasks stopped. */
  deleteTaskSet(service: ServiceRecord, taskSet: TaskSetRecord, reason?: string): Promise<void> {
    return this.services.deleteTaskSet(service, taskSet, reason);
  }

  /** Whether every task of the task set runs and answers on its port. */
  isTaskSetHealthy(taskSet: TaskSetRecord): Promise<boolean> {
    return this.services.isTaskSetHealthy(taskSet);
  }

  // ---- lifecycle ----

  /** Stops scheduling, kills every task process and waits until all are STOPPED. */
  async shutdown(): Promise<void> {
    this.services.shutdown();
    await this.tasks.shutdown();
  }

  /** Kills every task process group now, synchronously (for process exit). */
  killAllNow(): void {
    this.tasks.killAllNow();
  }
}
