import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  paginateListTasks,
  RunTaskCommand,
  type RunTaskCommandInput,
  type RunTaskCommandOutput,
  StopTaskCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { failureOf, inCall, inPlace, isErrorNamed, isTransient } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig, EnvironmentConfig } from '../shared/config.js';
import {
  chunk,
  DESCRIBE_TASKS_MAX,
  describeTaskFailure,
  environmentOf,
  type PhaseTask,
  phaseTasks,
  revisionOf,
  stopReasonOf,
  taskIdOf,
} from '../shared/ecs-tasks.js';
import { StaleRunError, TaskFailedError, ValidationError } from '../shared/errors.js';
import { clientTokenOf, TAGS } from '../shared/markers.js';
import { runTasksOf } from '../shared/stop-run-tasks.js';
import type { TaskFailure, TaskLog, TaskPhaseState, TaskRef } from '../shared/types.js';
import type { StartTasksEvent } from './schema.js';

/** The clients StartTasks calls: ECS. */
export type StartTasksClients = Pick<Clients, 'ecs'>;

/**
 * How long a RunTask client token answers with the task it started: 24 hours, after which
 * the same token starts a new task (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html).
 */
export const RUN_TASK_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/** What StartTasks needs from the outside world. */
export interface StartTasksDeps {
  clients: StartTasksClients;
  clock: Clock;
  config: DeployConfig;
  /**
   * How long, on `clock`, a client token keeps RunTask from starting a task twice.
   * @default RUN_TASK_TOKEN_TTL_MS
   */
  tokenTtlMs?: number;
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
 * Starts every task of a phase in every environment at once. A task an earlier attempt
 * started (found by `startedBy` and the run's tags, running or stopped within the hour ECS
 * shows it) is taken over instead; the others are started with a client token stable per
 * (execution, phase, environment, step), so a retry starts nothing twice. Once the run is
 * older than a client token lasts, a task that cannot be found is not started again: the
 * phase throws `StaleRunError` and starts nothing. When one fails to start, the ones that
 * did are stopped and the phase throws `TaskFailedError` naming each failure.
 */
export async function startTasks(event: StartTasksEvent, deps: StartTasksDeps): Promise<TaskPhaseState> {
  const { phase, plan } = event;
  let launches: Launch[];
  let found: Map<string, string>;
  try {
    launches = (
      await Promise.all(
        plan.environments.map((name) =>
          inPlace(name, () => launchesOf(environmentOf(deps.config, name), event, deps)),
        ),
      )
    ).flat();
    if (launches.length === 0) return { phase, tasks: [], status: 'SUCCEEDED', failures: [] };
    found = await startedEarlier(launches, event, deps.clients);
  } catch (error) {
    throw failureOf(error, 'StartTasks', 'no task was started yet');
  }
  const startedAt = new Date(deps.clock.nowMs()).toISOString();
  const adopted: Started[] = [];
  const toStart: Launch[] = [];
  for (const launch of launches) {
    const taskArn = found.get(launchKey(launch.environment.name, launch.task.step));
    if (taskArn) adopted.push({ launch, taskArn });
    else toStart.push(launch);
  }
  const ageMs = deps.clock.nowMs() - Date.parse(plan.startedAt);
  const tokenTtlMs = deps.tokenTtlMs ?? RUN_TASK_TOKEN_TTL_MS;
  if (toStart.length > 0 && ageMs >= tokenTtlMs) throw staleRun(event, toStart, tokenTtlMs);

  const results = await Promise.allSettled(
    toStart.map((launch) =>
      inCall('RunTask', launchKey(launch.environment.name, launch.task.step), () =>
        runTask(launch, event, deps.clients),
      ),
    ),
  );
  const started: Started[] = [...adopted];
  const failures: TaskFailure[] = [];
  const transient: unknown[] = [];
  results.forEach((result, index) => {
    const { environment, task } = toStart[index];
    let reason: string;
    if (result.status === 'rejected') {
      // A throttled RunTask says nothing about the task: the retry starts it with the same client token.
      if (isTransient(result.reason)) {
        transient.push(result.reason);
        return;
      }
      reason = errorText(result.reason);
    } else if ('reason' in result.value) reason = result.value.reason;
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
  if (transient.length > 0) {
    const others = transient.length > 1 ? `${transient.length - 1} other RunTask failed so too; ` : '';
    const kept = started.map(({ launch }) => launchKey(launch.environment.name, launch.task.step));
    throw failureOf(
      transient[0],
      'StartTasks',
      `${others}already started (kept for the retry): ${listSome(kept) || 'none'}`,
    );
  }

  const order = new Map(launches.map((launch, index) => [launch, index]));
  started.sort((a, b) => (order.get(a.launch) ?? 0) - (order.get(b.launch) ?? 0));
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
    startedAt,
  };
}

const launchKey = (environment: string, step: string) => `${environment}/${step}`;

/** The environment's tasks of this phase, with the log stream prefix of their containers. */
async function launchesOf(
  environment: EnvironmentConfig,
  event: StartTasksEvent,
  deps: StartTasksDeps,
): Promise<Launch[]> {
  // A rollback to an earlier release deploys its revisions and nothing else: no step, no migration.
  const tasks = event.plan.rollbackTo
    ? []
    : phaseTasks(deps.config, event.phase, environment, event.plan.skipMigrations);
  if (tasks.length === 0) return [];
  const revision = event.plan.oneOff[environment.name];
  if (!revision) {
    throw new ValidationError(
      `event.plan.oneOff.${environment.name}: missing; Plan records the one-off revision of every environment it plans.`,
    );
  }
  const definition = await inCall('DescribeTaskDefinition', `${environment.name} (${revision})`, () =>
    describe(deps.clients.ecs(environment.region), revision),
  );
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

/** A tag's value on a described task. */
const tagOf = (task: Task, key: string) => task.tags?.find((tag) => tag.key === key)?.value;

/**
 * The task of each (environment, step) of this phase an earlier attempt started, by
 * `environment/step`: the run's tasks that still run (ListTasks by `startedBy`) or stopped
 * within the hour ECS shows them (ListTasks of the one-off family, STOPPED), with this
 * execution's and phase's tags. A running task wins over a stopped one, then the newest.
 */
export async function startedEarlier(
  launches: readonly Launch[],
  event: StartTasksEvent,
  clients: StartTasksClients,
): Promise<Map<string, string>> {
  const environments = [...new Map(launches.map((launch) => [launch.environment.name, launch.environment]))];
  const described = await Promise.all(
    environments.map(async ([, environment]) => [
      ...(await runTasksOf(clients, environment, event.plan.runId, true)),
      ...(await stoppedRunTasksOf(clients, environment, event.plan.runId)),
    ]),
  );
  const rank = (task: Task) => [task.lastStatus === 'STOPPED' ? 0 : 1, task.createdAt?.getTime() ?? 0];
  const found = new Map<string, Task>();
  for (const task of described.flat()) {
    // startedBy is the run's id: the execution's tasks, whatever its name.
    if (task.startedBy !== event.plan.runId || tagOf(task, TAGS.phase) !== event.phase) continue;
    const environment = tagOf(task, TAGS.environment);
    const step = tagOf(task, TAGS.step);
    if (!environment || !step) continue;
    const key = launchKey(environment, step);
    const current = found.get(key);
    const [status, created] = rank(task);
    if (!current || status > rank(current)[0] || (status === rank(current)[0] && created > rank(current)[1]))
      found.set(key, task);
  }
  return new Map([...found].map(([key, task]) => [key, task.taskArn as string]));
}

/** The run's tasks ECS still lists as stopped: those of the one-off family, then chosen by `startedBy`. */
async function stoppedRunTasksOf(
  clients: StartTasksClients,
  environment: EnvironmentConfig,
  runId: string,
): Promise<Task[]> {
  const ecs = clients.ecs(environment.region);
  const where = `${environment.name} (cluster ${environment.cluster})`;
  const taskArns: string[] = [];
  const pages = paginateListTasks(
    { client: ecs },
    { cluster: environment.cluster, family: environment.taskDefinition, desiredStatus: 'STOPPED' },
  );
  try {
    await inCall('ListTasks', where, async () => {
      for await (const page of pages) taskArns.push(...(page.taskArns ?? []));
    });
  } catch (error) {
    // Should ECS refuse these filters together, the stopped tasks go unseen: the client token
    // still covers a young run, and an old one is refused rather than started again.
    if (isErrorNamed(error, 'InvalidParameterException')) return [];
    throw error;
  }
  const described = await Promise.all(
    chunk(taskArns, DESCRIBE_TASKS_MAX).map((tasks) =>
      inCall('DescribeTasks', where, () =>
        ecs.send(new DescribeTasksCommand({ cluster: environment.cluster, tasks, include: ['TAGS'] })),
      ),
    ),
  );
  return described.flatMap((output) => output.tasks ?? []).filter((task) => task.startedBy === runId);
}

/** The error for tasks that may have started in an attempt whose client tokens have expired. */
function staleRun(event: StartTasksEvent, launches: Launch[], tokenTtlMs: number): StaleRunError {
  const names = launches.map((launch) => launchKey(launch.environment.name, launch.task.step)).join(', ');
  const hours = Math.round((tokenTtlMs / 3_600_000) * 10) / 10;
  return new StaleRunError(
    `Phase ${event.phase} of release ${event.plan.release}: the run started at ${event.plan.startedAt}, more than ` +
      `${hours} hours ago, so RunTask's client tokens no longer keep ${names} from starting twice, and ECS shows no ` +
      'task of theirs (it shows a stopped task for about an hour). Nothing was started. If they never ran, start a ' +
      `new execution of release ${event.plan.release}; if they may have, look at their outcome (the phase's log ` +
      'streams, the cluster) first.',
  );
}

/** RunTask for one task: either the started task or the reason it did not start. */
async function runTask(
  launch: Launch,
  event: StartTasksEvent,
  clients: StartTasksClients,
): Promise<Started | { reason: string }> {
  const ecs = clients.ecs(launch.environment.region);
  const input = runTaskInput(launch, event);
  let output: RunTaskCommandOutput;
  try {
    output = await ecs.send(new RunTaskCommand(input));
  } catch (error) {
    if (isConflict(error))
      return { reason: await conflictReason(ecs, launch, input, error.resourceIds ?? []) };
    throw error;
  }
  const taskArn = output.tasks?.[0]?.taskArn;
  if (taskArn) return { launch, taskArn };
  const failure = output.failures?.[0];
  if (!failure) return { reason: 'RunTask returned neither a task nor a failure' };
  return { reason: [failure.reason, failure.detail].filter(Boolean).join(': ') || 'ECS gave no reason' };
}

/** The RunTask request of one task: the network only for an awsvpc task definition, the launch type or the capacity provider strategy. */
export function runTaskInput(launch: Launch, event: StartTasksEvent): RunTaskCommandInput {
  const { environment, revision, task } = launch;
  return {
    cluster: environment.cluster,
    taskDefinition: revision,
    launchType: environment.launchType,
    capacityProviderStrategy: environment.capacityProviderStrategy,
    count: 1,
    startedBy: event.plan.runId,
    clientToken: clientTokenOf(event.executionArn, event.phase, environment.name, task.step),
    networkConfiguration: environment.network && {
      awsvpcConfiguration: {
        subnets: environment.network.subnets,
        securityGroups: environment.network.securityGroups,
        assignPublicIp: environment.network.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    overrides: { containerOverrides: [{ name: task.container, command: task.command }] },
    tags: [
      { key: TAGS.release, value: event.plan.release },
      // The run's id, not the execution ARN: an execution name may hold characters a tag value may not (! ' ( )).
      { key: TAGS.run, value: event.plan.runId },
      { key: TAGS.environment, value: environment.name },
      { key: TAGS.phase, value: event.phase },
      { key: TAGS.step, value: task.step },
    ],
  };
}

/** ECS's ConflictException: the client token already started a task with other parameters. */
function isConflict(error: unknown): error is Error & { resourceIds?: string[] } {
  return isErrorNamed(error, 'ConflictException');
}

/**
 * Why a task's client token conflicts: what differs between the task it started (when ECS
 * still shows it) and the request now, and how to go on.
 */
async function conflictReason(
  ecs: ECSClient,
  launch: Launch,
  input: RunTaskCommandInput,
  resourceIds: string[],
): Promise<string> {
  const fix =
    'the configuration changed since this execution first started it; start a new execution of the release to run it with the current configuration';
  let earlier: Task | undefined;
  if (resourceIds.length > 0) {
    try {
      const described = await ecs.send(
        new DescribeTasksCommand({ cluster: launch.environment.cluster, tasks: resourceIds }),
      );
      earlier = described.tasks?.[0];
    } catch {
      // Not being able to name the change must not hide the conflict itself.
    }
  }
  if (!earlier) {
    const which = resourceIds.length > 0 ? ` (${resourceIds.join(', ')})` : '';
    return `RunTask refused its client token: the task it started${which} ran with other parameters, and ECS no longer shows it to tell which; ${fix}`;
  }
  const changes = requestChanges(earlier, input);
  return `RunTask refused its client token: the task it started (${earlier.taskArn}) ran with ${changes.length > 0 ? changes.join('; ') : 'other parameters (network or tags)'}; ${fix}`;
}

/** What differs between a started task and a RunTask request for it, in words. */
export function requestChanges(task: Task, input: RunTaskCommandInput): string[] {
  const changes: string[] = [];
  const before = task.taskDefinitionArn ? revisionOf(task.taskDefinitionArn) : undefined;
  if (before && before !== input.taskDefinition)
    changes.push(`task definition ${before}, now ${input.taskDefinition}`);
  const override = input.overrides?.containerOverrides?.[0];
  const ran = task.overrides?.containerOverrides?.find((item) => item.name === override?.name);
  if (override && JSON.stringify(ran?.command ?? null) !== JSON.stringify(override.command ?? null)) {
    changes.push(
      `command ${JSON.stringify(ran?.command ?? null)} in container ${override.name}, now ${JSON.stringify(override.command)}`,
    );
  }
  const placedOn = task.capacityProviderName
    ? `capacity provider ${task.capacityProviderName}`
    : task.launchType;
  const placement = input.capacityProviderStrategy
    ? `capacity provider strategy ${input.capacityProviderStrategy.map((item) => item.capacityProvider).join(', ')}`
    : input.launchType;
  const samePlacement = input.capacityProviderStrategy
    ? input.capacityProviderStrategy.some((item) => item.capacityProvider === task.capacityProviderName)
    : task.capacityProviderName === undefined && task.launchType === input.launchType;
  if (placedOn && !samePlacement) changes.push(`${placedOn}, now ${placement}`);
  const subnet = task.attachments
    ?.flatMap((attachment) => attachment.details ?? [])
    .find((detail) => detail.name === 'subnetId')?.value;
  const subnets = input.networkConfiguration?.awsvpcConfiguration?.subnets;
  if (
    (subnet !== undefined) !== (subnets !== undefined) ||
    (subnet && subnets && !subnets.includes(subnet))
  ) {
    changes.push(
      `${subnet ? `subnet ${subnet}` : 'no network configuration'}, now ${subnets ? `subnets ${subnets.join(', ')}` : 'none'}`,
    );
  }
  return changes;
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
      'Fix the cause (capacity, network, task definition, configuration), then start the release again.',
    ].join('\n'),
  );
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
