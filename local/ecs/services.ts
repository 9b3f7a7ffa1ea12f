import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type {
  Cluster,
  DeploymentController,
  Failure,
  LoadBalancer,
  Service,
  Tag,
  TaskSet,
} from '@aws-sdk/client-ecs';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import { ACCOUNT_ID } from '../server.js';
import { type ResourceTags, validateTags } from './resource-tags.js';
import type { TaskDefinitions } from './task-definitions.js';
import type { Tasks } from './tasks.js';

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

/** What the services need from the rest of the local ECS. */
export interface ServicesDeps {
  clock: LocalClock;
  tasks: Tasks;
  definitions: TaskDefinitions;
  tags: ResourceTags;
  cluster(region: string, nameOrArn?: string): Cluster;
}

/** The scheduler's wait before it replaces a stopped service task (scaled). */
const REPLACEMENT_BASE_DELAY_MS = 5_000;
/** The longest wait, once tasks keep failing. */
const REPLACEMENT_MAX_DELAY_MS = 300_000;

const taskSetId = () =>
  `ecs-svc/${BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString()
    .padStart(19, '0')
    .slice(0, 19)}`;

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

/**
 * Services of the local ECS and their task sets, which CodeDeploy drives. The service
 * scheduler keeps every active task set at its desired count: it replaces any task of the
 * set that stops, whatever stopped it, and slows down for tasks that keep failing.
 */
export class Services {
  private readonly services = new Map<string, ServiceRecord>();
  /** Failed tasks replaced so far per task set: the back-off before the next one doubles with each. */
  private readonly failures = new WeakMap<TaskSetRecord, number>();
  private readonly pendingReplacements = new Set<() => void>();
  private shuttingDown = false;

  constructor(private readonly deps: ServicesDeps) {}

  /** Creates a service and starts its first task set (PRIMARY) with `desiredCount` tasks. */
  async create(options: CreateServiceOptions): Promise<ServiceRecord> {
    validateTags(options.tags);
    const cluster = this.deps.cluster(options.region, options.cluster);
    const clusterName = cluster.clusterName as string;
    const serviceArn = `arn:aws:ecs:${options.region}:${ACCOUNT_ID}:service/${clusterName}/${options.name}`;
    if (this.services.get(serviceArn)?.service.status === 'ACTIVE') {
      throw new AwsError(
        'InvalidParameterException',
        `Creation of service was not idempotent: ${options.name} exists in ${clusterName}.`,
      );
    }
    const definition = this.deps.definitions.get(options.region, options.taskDefinitionArn);
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
    this.deps.tags.init(serviceArn, options.tags);
    const first = await this.createTaskSet(record, definition.taskDefinitionArn as string);
    this.setPrimaryTaskSet(record, first);
    return record;
  }

  /** The service by name or ARN, or `ServiceNotFoundException`. */
  get(region: string, clusterRef: string | undefined, nameOrArn: string): ServiceRecord {
    const record = this.find(region, clusterRef, nameOrArn);
    if (!record) {
      throw new AwsError(
        'ServiceNotFoundException',
        `Service not found: ${nameOrArn} in cluster ${clusterRef ?? 'default'} (${region}).`,
      );
    }
    return record;
  }

  /** Whether a service of that ARN exists. */
  has(arn: string): boolean {
    return this.services.has(arn);
  }

  /** Every service record. */
  all(): ServiceRecord[] {
    return [...this.services.values()];
  }

  private find(region: string, clusterRef: string | undefined, nameOrArn: string): ServiceRecord | undefined {
    if (nameOrArn.startsWith('arn:')) return this.services.get(nameOrArn);
    const cluster = this.deps.cluster(region, clusterRef);
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
    const definition = this.deps.definitions.get(service.region, taskDefinitionArn);
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
   * Starts one task of a task set, and arranges for the scheduler to replace it once it
   * stops, as long as the set is still scheduled: after a short wait when something stopped
   * it (StopTask), after a back-off that doubles with every failure in the set when it
   * exited or failed to start on its own, as ECS throttles a service whose tasks keep failing.
   */
  private async startServiceTask(service: ServiceRecord, set: TaskSetRecord): Promise<string> {
    const cluster = this.deps.cluster(service.region, service.clusterName);
    const definition = this.deps.definitions.get(service.region, set.taskSet.taskDefinition as string);
    const record = await this.deps.tasks.start(service.region, cluster, definition, {
      startedBy: set.taskSet.id,
      group: `service:${service.service.serviceName}`,
      tags: [],
      launchType: 'FARGATE',
    });
    const taskArn = record.task.taskArn as string;
    void record.stopped.then(() => {
      if (!this.scheduling(service, set)) return;
      const stopCode = record.task.stopCode;
      const failed = stopCode === 'EssentialContainerExited' || stopCode === 'TaskFailedToStart';
      const attempt = failed ? (this.failures.get(set) ?? 0) + 1 : 1;
      if (failed) this.failures.set(set, attempt);
      const delayMs = Math.min(REPLACEMENT_BASE_DELAY_MS * 2 ** (attempt - 1), REPLACEMENT_MAX_DELAY_MS);
      const cancel = this.deps.clock.after(delayMs, () => {
        this.pendingReplacements.delete(cancel);
        if (!this.scheduling(service, set)) return;
        void this.startServiceTask(service, set).then(
          (replacement) => {
            // Swapped only once the replacement exists, so the set never looks complete without it.
            const index = set.taskArns.indexOf(taskArn);
            if (index >= 0) set.taskArns[index] = replacement;
            else set.taskArns.push(replacement);
            if (!this.scheduling(service, set)) {
              const started = this.deps.tasks.byArn(replacement);
              if (started)
                this.deps.tasks.stop(started, 'ServiceSchedulerInitiated', 'Task set no longer active');
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
      .map((arn) => this.deps.tasks.byArn(arn))
      .filter((record) => record !== undefined);
    for (const record of records) {
      this.deps.tasks.stop(
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
    const records = taskSet.taskArns.map((arn) => this.deps.tasks.byArn(arn));
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
  describe(record: ServiceRecord, includeTags: boolean): Service {
    const counts = (taskArns: string[]) => {
      const statuses = taskArns.map((arn) => this.deps.tasks.byArn(arn)?.task.lastStatus);
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
      tags: includeTags ? this.deps.tags.of(record.service.serviceArn as string) : undefined,
    };
  }

  /** DescribeServices: the services found, a MISSING failure for each one not found. */
  describeServices(region: string, clusterRef: string | undefined, refs: string[], includeTags: boolean) {
    const cluster = this.deps.cluster(region, clusterRef);
    if (refs.length === 0 || refs.length > 10) {
      throw new AwsError(
        'InvalidParameterException',
        `DescribeServices takes 1-10 services, not ${refs.length}.`,
      );
    }
    const services: Service[] = [];
    const failures: Failure[] = [];
    for (const ref of refs) {
      const record = this.find(region, clusterRef, ref);
      if (record && record.service.clusterArn === cluster.clusterArn)
        services.push(this.describe(record, includeTags));
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
  list(region: string, clusterRef: string | undefined): string[] {
    const cluster = this.deps.cluster(region, clusterRef);
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

  /** Stops scheduling: no replacement starts from now on. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const cancel of this.pendingReplacements) cancel();
    this.pendingReplacements.clear();
  }
}
