import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RunTaskCommand,
  StopTaskCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig, EnvironmentConfig } from '../shared/config.js';
import {
  describeTaskFailure,
  environmentOf,
  type PhaseTask,
  phaseTasks,
  stopReasonOf,
  taskIdOf,
} from '../shared/ecs-tasks.js';
import { TaskFailedError, ValidationError } from '../shared/errors.js';
import { clientTokenOf, TAGS } from '../shared/markers.js';
import type { TaskFailure, TaskLog, TaskPhaseState, TaskRef } from '../shared/types.js';
import type { StartTasksEvent } from './schema.js';

/** The clients StartTasks calls: ECS. */
export type StartTasksClients = Pick<Clients, 'ecs'>;

/** What StartTasks needs from the outside world. */
export interface StartTasksDeps {
  clients: StartTasksClients;
  clock: Clock;
  config: DeployConfig;
}

/** One task to start: where, what, and where its output will go. */
interface Launch {
  environment: EnvironmentConfig;
  revision: string;
  task: PhaseTask;
  log?: { logGroup: string; streamPrefix: string; region: string };
}

type Started = { launch: Launch; taskArn: string };

/**
 * Starts every task of a phase in every environment at once. When one fails to start, the
 * ones that did are stopped and the phase throws `TaskFailedError` naming each failure.
 * A retry starts nothing twice: every RunTask carries a client token stable per
 * (execution, phase, environment, step).
 */
export async function startTasks(event: StartTasksEvent, deps: StartTasksDeps): Promise<TaskPhaseState> {
  const { phase, plan } = event;
  const launches = (
    await Promise.all(
      plan.environments.map((name) => launchesOf(environmentOf(deps.config, name), event, deps)),
    )
  ).flat();
  if (launches.length === 0) return { phase, tasks: [], status: 'SUCCEEDED', failures: [] };

  const results = await Promise.allSettled(launches.map((launch) => runTask(launch, event, deps.clients)));
  const started: Started[] = [];
  const failures: TaskFailure[] = [];
  results.forEach((result, index) => {
    const { environment, task } = launches[index];
    let reason: string;
    if (result.status === 'rejected') reason = errorText(result.reason);
    else if ('reason' in result.value) reason = result.value.reason;
    else {
      started.push(result.value);
      return;
    }
    failures.push({
      environment: environment.name,
      step: task.step,
      exitCode: null,
      reason: `failed to start: ${reason}`,
    });
  });
  if (failures.length > 0) throw await abandon(phase, started, failures, deps.clients);

  return {
    phase,
    tasks: started.map(({ launch, taskArn }) => {
      const ref: TaskRef & { log?: TaskLog } = {
        environment: launch.environment.name,
        step: launch.task.step,
        taskArn,
      };
      if (launch.log) {
        const { logGroup, streamPrefix, region } = launch.log;
        ref.log = {
          logGroup,
          logStream: `${streamPrefix}/${launch.task.container}/${taskIdOf(taskArn)}`,
          region,
        };
      }
      return ref;
    }),
    status: 'RUNNING',
    failures: [],
  };
}

/** The environment's tasks of this phase, with the log stream prefix of their containers. */
async function launchesOf(
  environment: EnvironmentConfig,
  event: StartTasksEvent,
  deps: StartTasksDeps,
): Promise<Launch[]> {
  const tasks = phaseTasks(deps.config, event.phase, environment, event.plan.skipMigrations);
  if (tasks.length === 0) return [];
  const revision = event.plan.oneOff[environment.name];
  if (!revision) {
    throw new ValidationError(
      `event.plan.oneOff.${environment.name}: missing; Plan records the one-off revision of every environment it plans.`,
    );
  }
  const definition = await describe(deps.clients.ecs(environment.region), revision);
  return tasks.map((task) => ({
    environment,
    revision,
    task,
    log: awslogsOf(definition, task.container, environment.region),
  }));
}

async function describe(ecs: ECSClient, revision: string): Promise<TaskDefinition> {
  const output = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: revision }));
  if (!output.taskDefinition)
    throw new ValidationError(`Task definition ${revision} was not found; run Plan again.`);
  return output.taskDefinition;
}

/** Where the awslogs driver writes the container's output; undefined when it is not awslogs with a prefix. */
export function awslogsOf(
  definition: TaskDefinition,
  container: string,
  defaultRegion: string,
): Launch['log'] {
  const logConfiguration = definition.containerDefinitions?.find(
    (candidate) => candidate.name === container,
  )?.logConfiguration;
  const options = logConfiguration?.options ?? {};
  const logGroup = options['awslogs-group'];
  const streamPrefix = options['awslogs-stream-prefix'];
  if (logConfiguration?.logDriver !== 'awslogs' || !logGroup || !streamPrefix) return undefined;
  return { logGroup, streamPrefix, region: options['awslogs-region'] ?? defaultRegion };
}

/** RunTask for one task: either the started task or ECS's reason it did not start. */
async function runTask(
  launch: Launch,
  event: StartTasksEvent,
  clients: StartTasksClients,
): Promise<Started | { reason: string }> {
  const { environment, revision, task } = launch;
  const output = await clients.ecs(environment.region).send(
    new RunTaskCommand({
      cluster: environment.cluster,
      taskDefinition: revision,
      launchType: environment.launchType,
      count: 1,
      startedBy: event.plan.runId,
      clientToken: clientTokenOf(event.executionArn, event.phase, environment.name, task.step),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: environment.network.subnets,
          securityGroups: environment.network.securityGroups,
          assignPublicIp: environment.network.assignPublicIp ? 'ENABLED' : 'DISABLED',
        },
      },
      overrides: { containerOverrides: [{ name: task.container, command: task.command }] },
      tags: [
        { key: TAGS.release, value: event.plan.release },
        { key: TAGS.execution, value: event.executionArn },
        { key: TAGS.environment, value: environment.name },
        { key: TAGS.step, value: task.step },
      ],
    }),
  );
  const taskArn = output.tasks?.[0]?.taskArn;
  if (taskArn) return { launch, taskArn };
  const failure = output.failures?.[0];
  if (!failure) return { reason: 'RunTask returned neither a task nor a failure' };
  return { reason: [failure.reason, failure.detail].filter(Boolean).join(': ') || 'ECS gave no reason' };
}

/** Stops the tasks that did start and builds the error that names every failure. */
async function abandon(
  phase: string,
  started: Started[],
  failures: TaskFailure[],
  clients: StartTasksClients,
): Promise<TaskFailedError> {
  const reason = stopReasonOf(failures);
  const stops = await Promise.allSettled(
    started.map(({ launch, taskArn }) =>
      clients
        .ecs(launch.environment.region)
        .send(new StopTaskCommand({ cluster: launch.environment.cluster, task: taskArn, reason })),
    ),
  );
  const unstopped = stops.filter((stop) => stop.status === 'rejected').length;
  const total = started.length + failures.length;
  const aftermath =
    started.length === 0
      ? 'none started'
      : unstopped === 0
        ? `the ${started.length} started were stopped`
        : `${unstopped} of the ${started.length} started could not be stopped here; the run stops them by startedBy`;
  return new TaskFailedError(
    [
      `Phase ${phase}: ${failures.length} of ${total} task(s) failed to start; ${aftermath}.`,
      ...failures.map(describeTaskFailure),
      'Fix the cause (capacity, network, task definition), then start the release again.',
    ].join('\n'),
  );
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
