import { DescribeTasksCommand, paginateListTasks, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { inCall } from './aws-errors.js';
import type { Clients } from './clients.js';
import type { EnvironmentConfig } from './config.js';
import { chunk, DESCRIBE_TASKS_MAX } from './ecs-tasks.js';

/**
 * The tasks of the run (started with `startedBy = runId`) that the environment's cluster
 * still wants running, described (with their tags when `includeTags`). ListTasks takes
 * `startedBy` as its only filter, so the tasks are listed by it alone, which lists those
 * whose desired status is RUNNING, and any further choice is made on what DescribeTasks returns.
 */
export async function runTasksOf(
  clients: Pick<Clients, 'ecs'>,
  environment: EnvironmentConfig,
  runId: string,
  includeTags = false,
): Promise<Task[]> {
  const ecs = clients.ecs(environment.region);
  const where = `${environment.name} (cluster ${environment.cluster})`;
  const taskArns: string[] = [];
  const pages = paginateListTasks({ client: ecs }, { cluster: environment.cluster, startedBy: runId });
  await inCall('ListTasks', where, async () => {
    for await (const page of pages) taskArns.push(...(page.taskArns ?? []));
  });
  const described = await Promise.all(
    chunk(taskArns, DESCRIBE_TASKS_MAX).map((tasks) =>
      inCall('DescribeTasks', where, () =>
        ecs.send(
          new DescribeTasksCommand({
            cluster: environment.cluster,
            tasks,
            include: includeTags ? ['TAGS'] : undefined,
          }),
        ),
      ),
    ),
  );
  return described.flatMap((output) => output.tasks ?? []).filter((task) => task.startedBy === runId);
}

/**
 * Stops every task of the run (found by `startedBy = runId`) the environment's cluster still
 * wants running, with `reason`; returns the ARNs it stopped. Found by listing rather than from
 * a state, so tasks a failed StartTasks left behind are found too; harmless when none run.
 */
export async function stopRunTasks(
  clients: Pick<Clients, 'ecs'>,
  environment: EnvironmentConfig,
  runId: string,
  reason: string,
): Promise<string[]> {
  const ecs = clients.ecs(environment.region);
  const running = (await runTasksOf(clients, environment, runId))
    .filter((task) => task.desiredStatus !== 'STOPPED' && task.lastStatus !== 'STOPPED')
    .map((task) => task.taskArn)
    .filter((taskArn) => taskArn !== undefined);
  await Promise.all(
    running.map((task) =>
      inCall('StopTask', `${environment.name} (task ${task})`, () =>
        ecs.send(new StopTaskCommand({ cluster: environment.cluster, task, reason })),
      ),
    ),
  );
  return running;
}
