import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { describeTaskFailure } from '../shared/ecs-tasks.js';
import { loggedHandler } from '../shared/logging.js';
import { parseOrThrow } from '../shared/schemas.js';
import { stopTasks } from './core.js';
import { StopTasksEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ ecs: ECSClient, ssm: SSMClient });
const clock = systemClock();

/** StopTasks: stops what a failed phase still runs and reports why the phase failed; logs each failure and each task stopped. */
export const handler = loggedHandler('stop-tasks', async (event, log) => {
  const parsed = parseOrThrow(StopTasksEventSchema, event, 'event');
  log.append({ phase: parsed.phase });
  const state = await stopTasks(parsed, { clients, clock, config: await loadConfig(clients) });
  for (const failure of state.failures) log.warn(describeTaskFailure(failure), { ...failure });
  for (const taskArn of state.stopped ?? []) log.info(`stopped ${taskArn}`, { taskArn });
  log.done(
    `${state.phase}: FAILED, ${state.stopped?.length ?? 0} tasks stopped`,
    { status: state.status, stopped: state.stopped?.length ?? 0, failed: state.failures.length },
    'warn',
  );
  return state;
});
