import {
  type AlarmHistoryItem,
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  type DeploymentInfo,
  DeploymentIsNotInReadyStateException,
  type DeploymentStatus,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Tag,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type ExecutionListItem, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand, type Parameter, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { DeployConfig } from '../../lambdas/shared/config.js';
import { parseMarker } from '../../lambdas/shared/markers.js';
import { parametersPage } from '../lambdas/shared/config-parameters.js';

const ACCOUNT = '000000000000';

/** How a scripted task ends: it fails to start, or exits with a code at the given look (default the second). */
export type TaskScript = { failToStart: string } | { exitCode: number; afterLooks?: number };

/**
 * How a scripted deployment ends, after how many looks (BatchGetDeployments calls that return
 * it); `expire`: it reaches Ready, and its ready wait runs out (Stopped) at the next look.
 */
export interface DeploymentScript {
  outcome: 'succeed' | 'fail' | 'expire';
  afterLooks: number;
}

interface FakeTask {
  task: Task;
  cluster: string;
  startedBy?: string;
  looks: number;
  script: TaskScript;
  step: string;
  environment: string;
}

interface FakeDeployment {
  info: DeploymentInfo;
  looks: number;
  script: DeploymentScript;
  /** Its group waits in Ready for ContinueDeployment READY_WAIT before traffic moves. */
  readyWait: boolean;
}

/**
 * A small, consistent ECS + CodeDeploy + CloudWatch + Step Functions + EventBridge + SSM world
 * behind aws-sdk-client-mock, seeded from the deploy configuration: task definitions and
 * services exist, tasks run to a scripted exit code, deployments reach their termination wait
 * (through Ready, for the groups of waves that cut over together) or fail (and are rolled back
 * by CodeDeploy) after scripted looks; every configured alarm is OK, and goes into ALARM in its
 * history when a test fires it.
 */
export class FakeAws {
  readonly ecs = mockClient(ECSClient);
  readonly codedeploy = mockClient(CodeDeployClient);
  readonly sfn = mockClient(SFNClient);
  readonly events = mockClient(EventBridgeClient);
  readonly ssm = mockClient(SSMClient);
  readonly cloudwatch = mockClient(CloudWatchClient);
  /** The StateUpdate history of each alarm a test fired. */
  readonly alarmHistory = new Map<string, AlarmHistoryItem[]>();

  /** The outcome of a task, by environment and step. */
  taskScript: (environment: string, step: string) => TaskScript = () => ({ exitCode: 0 });
  /** The outcome of a deployment, by environment and service. */
  deploymentScript: (environment: string, service: string) => DeploymentScript = () => ({
    outcome: 'succeed',
    afterLooks: 1,
  });
  /** Groups (`env/service`) whose rollbacks made by CodeDeploy fail. */
  readonly failingRollbacks = new Set<string>();
  /** Executions ListExecutions reports as RUNNING, besides the one under test. */
  readonly otherExecutions: ExecutionListItem[] = [];
  /** The execution under test, as ListExecutions reports it. */
  execution?: ExecutionListItem;

  readonly taskDefinitions = new Map<string, { definition: TaskDefinition; tags: Tag[] }>();
  readonly tasks = new Map<string, FakeTask>();
  readonly deployments = new Map<string, FakeDeployment>();
  readonly announced: PutEventsRequestEntry[] = [];
  readonly stoppedTasks: string[] = [];
  private sequence = 0;

  /** `parameters`: the configuration in Parameter Store, served by GetParametersByPath. */
  constructor(
    private readonly config: DeployConfig,
    parameters: Parameter[],
  ) {
    this.ssm.on(GetParametersByPathCommand).callsFake((input) => parametersPage(parameters, input));
    for (const env of config.environments) {
      this.register(env.region, env.taskDefinition, []);
      for (const service of env.services) this.register(env.region, service.family, []);
    }
    this.wire();
  }

  /** Restores the real SDK clients. */
  restore(): void {
    for (const mock of [this.ecs, this.codedeploy, this.sfn, this.events, this.ssm, this.cloudwatch])
      mock.restore();
  }

  /** Puts `alarmName` into ALARM and back to OK now: only its history shows it, as after SetAlarmState. */
  fireAlarm(alarmName: string): void {
    const at = new Date();
    this.alarmHistory.set(alarmName, [
      ...(this.alarmHistory.get(alarmName) ?? []),
      {
        AlarmName: alarmName,
        Timestamp: at,
        HistoryItemType: 'StateUpdate',
        HistorySummary: 'Alarm updated from OK to ALARM',
        HistoryData: JSON.stringify({ newState: { stateValue: 'ALARM', stateReason: 'fired by the test' } }),
      },
    ]);
  }

  /** Task definition ARN of a family's latest revision. */
  latest(family: string): string {
    const arns = [...this.taskDefinitions.keys()].filter((arn) => arn.includes(`task-definition/${family}:`));
    return arns[arns.length - 1];
  }

  private next(prefix: string): string {
    this.sequence += 1;
    return `${prefix}${String(this.sequence).padStart(6, '0')}`;
  }

  private register(
    region: string,
    family: string,
    tags: Tag[],
    containers?: TaskDefinition['containerDefinitions'],
  ) {
    const revision =
      [...this.taskDefinitions.keys()].filter((arn) => arn.includes(`task-definition/${family}:`)).length + 1;
    const arn = `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${family}:${revision}`;
    const definition: TaskDefinition = {
      taskDefinitionArn: arn,
      family,
      revision,
      status: 'ACTIVE',
      containerDefinitions: containers ?? [
        {
          name: 'app',
          image: 'stepdeploy-demo/app:initial',
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': `/stepdeploy-demo/${family}`, 'awslogs-stream-prefix': 'app' },
          },
        },
      ],
    };
    this.taskDefinitions.set(arn, { definition, tags });
    return definition;
  }

  private findDefinition(reference: string) {
    if (this.taskDefinitions.has(reference)) return this.taskDefinitions.get(reference);
    const suffix = reference.includes(':') ? `task-definition/${reference}` : undefined;
    if (suffix) return [...this.taskDefinitions].find(([arn]) => arn.endsWith(suffix))?.[1];
    const latest = this.latest(reference);
    return latest ? this.taskDefinitions.get(latest) : undefined;
  }

  /**
   * Puts a deployment someone else started on the group of (environment, service), with
   * `fields` over an active one; it stays as given however often it is looked at.
   */
  addForeignDeployment(environment: string, service: string, fields: Partial<DeploymentInfo>): string {
    const env = this.config.environments.find((candidate) => candidate.name === environment);
    const group = env?.services.find((candidate) => candidate.name === service);
    if (!group) throw new Error(`fake AWS: no service ${environment}/${service}`);
    const deploymentId = this.next('d-foreign-');
    this.deployments.set(deploymentId, {
      info: {
        deploymentId,
        applicationName: group.application,
        deploymentGroupName: group.deploymentGroup,
        status: 'InProgress',
        creator: 'user',
        createTime: new Date(Date.now() - 3_600_000),
        ...fields,
      },
      looks: 0,
      script: { outcome: 'succeed', afterLooks: Number.POSITIVE_INFINITY },
      readyWait: false,
    });
    return deploymentId;
  }

  private environmentOfCluster(cluster: string) {
    const env = this.config.environments.find((candidate) => candidate.cluster === cluster);
    if (!env) throw new Error(`fake AWS: unknown cluster ${cluster}`);
    return env;
  }

  private serviceOfGroup(application: string, group: string) {
    for (const env of this.config.environments) {
      const service = env.services.find((s) => s.application === application && s.deploymentGroup === group);
      if (service) return { env, service };
    }
    throw new Error(`fake AWS: unknown deployment group ${application}/${group}`);
  }

  /** Moves a task on by one look: RUNNING until its scripted look, then stopped with its exit code. */
  private advanceTask(fake: FakeTask): void {
    fake.looks += 1;
    if (fake.task.lastStatus === 'STOPPED' || !('exitCode' in fake.script)) return;
    if (fake.looks < (fake.script.afterLooks ?? 2)) {
      fake.task.lastStatus = 'RUNNING';
      fake.task.containers = [{ name: 'app', lastStatus: 'RUNNING' }];
      return;
    }
    fake.task.lastStatus = 'STOPPED';
    fake.task.desiredStatus = 'STOPPED';
    fake.task.stopCode = 'EssentialContainerExited';
    fake.task.stoppedReason = 'Essential container in task exited';
    fake.task.containers = [{ name: 'app', lastStatus: 'STOPPED', exitCode: fake.script.exitCode }];
  }

  private createDeployment(
    application: string,
    group: string,
    description: string,
    script: DeploymentScript,
    readyWait = false,
  ) {
    const deploymentId = this.next('d-');
    this.deployments.set(deploymentId, {
      info: {
        deploymentId,
        applicationName: application,
        deploymentGroupName: group,
        description,
        status: 'Created',
        creator: 'user',
        createTime: new Date(),
      },
      looks: 0,
      script,
      readyWait,
    });
    return deploymentId;
  }

  /**
   * CodeDeploy's own rollback of a failed or stopped deployment: a deployment that succeeds, or
   * fails for a group of `failingRollbacks`.
   */
  private autoRollback(fake: FakeDeployment): void {
    const { applicationName, deploymentGroupName, deploymentId, description } = fake.info;
    const marker = parseMarker(description);
    const fails =
      marker !== undefined && this.failingRollbacks.has(`${marker.environment}/${marker.service}`);
    const rollbackId = this.createDeployment(String(applicationName), String(deploymentGroupName), '', {
      outcome: fails ? 'fail' : 'succeed',
      afterLooks: 1,
    });
    const rollback = this.deployments.get(rollbackId);
    if (rollback) {
      rollback.info.creator = 'codeDeployRollback';
      rollback.info.rollbackInfo = { rollbackTriggeringDeploymentId: deploymentId };
    }
    fake.info.rollbackInfo = { rollbackDeploymentId: rollbackId };
  }

  private advanceDeployment(fake: FakeDeployment): void {
    fake.looks += 1;
    const status = fake.info.status;
    if (status === 'Ready' && fake.script.outcome === 'expire') {
      fake.info.status = 'Stopped';
      fake.info.errorInformation = { code: 'TIMEOUT', message: 'the ready wait ran out' };
      return;
    }
    if (status === 'Succeeded' || status === 'Failed' || status === 'Stopped' || status === 'Ready') return;
    if (fake.info.instanceTerminationWaitTimeStarted) return;
    if (fake.looks < fake.script.afterLooks) {
      fake.info.status = 'InProgress';
      return;
    }
    if (fake.script.outcome === 'fail') {
      fake.info.status = 'Failed';
      fake.info.errorInformation = {
        code: 'ECS_UPDATE_ERROR',
        message: 'replacement tasks failed their health checks',
      };
      this.autoRollback(fake);
    } else if (fake.info.creator === 'codeDeployRollback' || fake.info.description?.endsWith(':rollback')) {
      fake.info.status = 'Succeeded';
    } else if (fake.readyWait) {
      // Healthy, test traffic passed: it waits for ContinueDeployment READY_WAIT.
      fake.info.status = 'Ready';
    } else {
      fake.info.status = 'InProgress';
      fake.info.instanceTerminationWaitTimeStarted = true;
    }
  }

  private wire(): void {
    this.sfn.on(ListExecutionsCommand).callsFake(() => ({
      executions: [...this.otherExecutions, ...(this.execution ? [this.execution] : [])],
    }));
    this.events.on(PutEventsCommand).callsFake((input) => {
      this.announced.push(...(input.Entries ?? []));
      return {
        FailedEntryCount: 0,
        Entries: (input.Entries ?? []).map(() => ({ EventId: this.next('event-') })),
      };
    });

    this.ecs.on(DescribeServicesCommand).callsFake((input) => {
      const env = this.environmentOfCluster(String(input.cluster));
      return {
        services: (input.services ?? []).map((name: string) => {
          const service = env.services.find((candidate) => candidate.service === name);
          const family = service?.family ?? `${env.name}-${name}`;
          return {
            serviceName: name,
            serviceArn: `arn:aws:ecs:${env.region}:${ACCOUNT}:service/${env.cluster}/${name}`,
            status: 'ACTIVE',
            taskDefinition: this.latest(family),
          };
        }),
      };
    });
    this.ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
      const found = this.findDefinition(String(input.taskDefinition));
      if (!found)
        throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
      return {
        taskDefinition: found.definition,
        tags: input.include?.includes('TAGS') ? found.tags : undefined,
      };
    });
    this.ecs.on(ListTaskDefinitionsCommand).callsFake((input) => ({
      taskDefinitionArns: [...this.taskDefinitions.keys()]
        .filter((arn) => arn.includes(`task-definition/${input.familyPrefix}:`))
        .reverse(),
    }));
    this.ecs.on(RegisterTaskDefinitionCommand).callsFake((input) => {
      const region = this.config.environments[0].region;
      return {
        taskDefinition: this.register(
          region,
          String(input.family),
          input.tags ?? [],
          input.containerDefinitions,
        ),
      };
    });
    this.ecs.on(RunTaskCommand).callsFake((input) => {
      const env = this.environmentOfCluster(String(input.cluster));
      const step = input.tags?.find((tag: Tag) => tag.key === 'stepdeploy:step')?.value ?? 'unknown';
      const existing = [...this.tasks.values()].find((fake) => fake.task.group === input.clientToken);
      if (existing) return { tasks: [existing.task], failures: [] };
      const script = this.taskScript(env.name, step);
      if ('failToStart' in script) {
        return { tasks: [], failures: [{ reason: script.failToStart, detail: `${env.name}/${step}` }] };
      }
      const taskArn = `arn:aws:ecs:${env.region}:${ACCOUNT}:task/${env.cluster}/${this.next('task')}`;
      const task: Task = {
        taskArn,
        clusterArn: env.cluster,
        taskDefinitionArn: String(input.taskDefinition),
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        startedBy: input.startedBy,
        group: input.clientToken,
        containers: [{ name: 'app', lastStatus: 'PENDING' }],
      };
      this.tasks.set(taskArn, {
        task,
        cluster: env.cluster,
        startedBy: input.startedBy,
        looks: 0,
        script,
        step,
        environment: env.name,
      });
      return { tasks: [task], failures: [] };
    });
    this.ecs.on(DescribeTasksCommand).callsFake((input) => {
      const tasks: Task[] = [];
      const failures: Array<{ arn: string; reason: string }> = [];
      for (const arn of input.tasks ?? []) {
        const fake = this.tasks.get(arn);
        if (!fake) {
          failures.push({ arn, reason: 'MISSING' });
          continue;
        }
        this.advanceTask(fake);
        tasks.push(fake.task);
      }
      return { tasks, failures };
    });
    this.ecs.on(ListTasksCommand).callsFake((input) => {
      // As ECS: startedBy must be the only filter.
      if (input.startedBy !== undefined && (input.desiredStatus || input.family || input.serviceName)) {
        throw Object.assign(new Error('cannot specify startedBy with other arguments'), {
          name: 'InvalidParameterException',
        });
      }
      // Services' tasks belong to CodeDeploy's task sets here, which retire through ContinueDeployment.
      if (input.serviceName !== undefined) return { taskArns: [] };
      const stopped = input.desiredStatus === 'STOPPED';
      return {
        taskArns: [...this.tasks.values()]
          .filter((fake) => fake.cluster === input.cluster)
          .filter((fake) => input.startedBy === undefined || fake.startedBy === input.startedBy)
          .filter(
            (fake) =>
              input.family === undefined || fake.task.taskDefinitionArn?.startsWith(`${input.family}:`),
          )
          .filter((fake) => (fake.task.lastStatus === 'STOPPED') === stopped)
          .map((fake) => String(fake.task.taskArn)),
      };
    });
    this.ecs.on(StopTaskCommand).callsFake((input) => {
      const fake = this.tasks.get(String(input.task));
      if (!fake)
        throw Object.assign(new Error('The referenced task was not found.'), {
          name: 'InvalidParameterException',
        });
      if (fake.task.lastStatus !== 'STOPPED') {
        fake.task.lastStatus = 'STOPPED';
        fake.task.desiredStatus = 'STOPPED';
        fake.task.stopCode = 'UserInitiated';
        fake.task.stoppedReason = input.reason;
        fake.task.containers = [{ name: 'app', lastStatus: 'STOPPED', exitCode: 143 }];
        this.stoppedTasks.push(String(input.task));
      }
      return { task: fake.task };
    });

    this.codedeploy.on(CreateDeploymentCommand).callsFake((input) => {
      const { env, service } = this.serviceOfGroup(
        String(input.applicationName),
        String(input.deploymentGroupName),
      );
      const description = String(input.description ?? '');
      const rollback = description.endsWith(':rollback');
      const script = rollback
        ? { outcome: 'succeed' as const, afterLooks: 1 }
        : this.deploymentScript(env.name, service.name);
      const together = this.config.waves?.find((wave) => wave.environments.includes(env.name))?.cutover;
      return {
        deploymentId: this.createDeployment(
          String(input.applicationName),
          String(input.deploymentGroupName),
          description,
          script,
          !rollback && together === 'together',
        ),
      };
    });
    this.codedeploy.on(ListDeploymentsCommand).callsFake((input) => ({
      deployments: [...this.deployments.values()]
        .filter(
          (fake) =>
            fake.info.applicationName === input.applicationName &&
            fake.info.deploymentGroupName === input.deploymentGroupName,
        )
        .filter(
          (fake) =>
            !input.includeOnlyStatuses ||
            input.includeOnlyStatuses.includes(fake.info.status as DeploymentStatus),
        )
        .filter(
          (fake) =>
            !input.createTimeRange?.start ||
            (fake.info.createTime ?? new Date(0)) >= input.createTimeRange.start,
        )
        .map((fake) => String(fake.info.deploymentId)),
    }));
    this.codedeploy.on(BatchGetDeploymentsCommand).callsFake((input) => ({
      deploymentsInfo: (input.deploymentIds ?? []).flatMap((id: string) => {
        const fake = this.deployments.get(id);
        if (!fake) return [];
        this.advanceDeployment(fake);
        return [structuredClone(fake.info)];
      }),
    }));
    this.codedeploy.on(StopDeploymentCommand).callsFake((input) => {
      const fake = this.deployments.get(String(input.deploymentId));
      const status = fake?.info.status;
      if (!fake || status === 'Succeeded' || status === 'Failed' || status === 'Stopped') {
        throw Object.assign(new Error('The deployment is already completed.'), {
          name: 'DeploymentAlreadyCompletedException',
        });
      }
      fake.info.status = 'Stopped';
      if (input.autoRollbackEnabled) this.autoRollback(fake);
      return { status: 'Succeeded' };
    });
    this.codedeploy.on(ContinueDeploymentCommand).callsFake((input) => {
      const fake = this.deployments.get(String(input.deploymentId));
      if (!fake) return {};
      if (input.deploymentWaitType === 'READY_WAIT') {
        if (fake.info.status !== 'Ready') {
          throw new DeploymentIsNotInReadyStateException({ message: 'not Ready', $metadata: {} });
        }
        // Traffic moves: on to its termination wait.
        fake.info.status = 'InProgress';
        fake.info.instanceTerminationWaitTimeStarted = true;
      } else {
        fake.info.status = 'Succeeded';
      }
      return {};
    });

    this.cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => ({
      MetricAlarms: (input.AlarmNames ?? []).map((AlarmName: string) => ({ AlarmName, StateValue: 'OK' })),
      CompositeAlarms: [],
    }));
    this.cloudwatch.on(DescribeAlarmHistoryCommand).callsFake((input) => ({
      AlarmHistoryItems: (this.alarmHistory.get(String(input.AlarmName)) ?? []).filter(
        (item) => !input.StartDate || (item.Timestamp ?? new Date(0)) >= input.StartDate,
      ),
    }));
  }
}
