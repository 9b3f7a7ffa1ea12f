import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { parseOrThrow } from '../shared/schemas.js';
import { RUN_TASK_TOKEN_TTL_MS, startTasks } from './core.js';
import { StartTasksEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ ecs: ECSClient, ssm: SSMClient });
const clock = systemClock();

/**
 * The client token's 24 hours on this clock: `STEPDEPLOY_TIME_SCALE` (unset in AWS) runs
 * the local AWS's time faster, its token expiry with it, while the clock reads real time.
 */
const tokenTtlMs = () => RUN_TASK_TOKEN_TTL_MS / (Number(process.env.STEPDEPLOY_TIME_SCALE ?? '1') || 1);

/** StartTasks: runs every task of a phase in every environment of the plan; logs each task and where its output goes. */
export const handler = loggedHandler('start-tasks', async (event, log) => {
  const parsed = parseOrThrow(StartTasksEventSchema, event, 'event');
  log.append({ phase: parsed.phase });
  const state = await startTasks(parsed, {
    clients,
    clock,
    config: await loadConfig(clients),
    tokenTtlMs: tokenTtlMs(),
  });
  for (const { environment, step, taskArn, log: output } of state.tasks) {
    log.info(`${environment}/${step}: running ${taskArn}`, {
      environment,
      step,
      taskArn,
      logGroup: output?.logGroup,
      logStream: output?.logStream,
    });
  }
  log.done(`${state.phase}: ${state.tasks.length} tasks running, ${state.status}`, {
    status: state.status,
    tasks: state.tasks.length,
  });
  return state;
});
