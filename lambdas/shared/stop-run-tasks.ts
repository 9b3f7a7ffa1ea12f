import { paginateListTasks, StopTaskCommand } from '@aws-sdk/client-ecs';
import type { Clients } from './clients.js';
import type { EnvironmentConfig } from './config.js';

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
  const taskArns: string[] = [];
  const pages = paginateListTasks(
    { client: ecs },
    { cluster: environment.cluster, startedBy: runId, desiredStatus: 'RUNNING' },
  );
  for await (const page of pages) taskArns.push(...(page.taskArns ?? []));
  await Promise.all(
    taskArns.map((task) => ecs.send(new StopTaskCommand({ cluster: environment.cluster, task, reason }))),
  );
  return taskArns;
}
