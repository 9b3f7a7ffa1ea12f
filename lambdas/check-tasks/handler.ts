import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { describeTaskFailure } from '../shared/ecs-tasks.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { parseOrThrow } from '../shared/schemas.js';
import { checkTasks } from './core.js';
import { CheckTasksEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ ecs: ECSClient, ssm: SSMClient });
const clock = systemClock();

/**
 * CheckTasks: watches a phase's tasks until they all succeeded, one failed, or the watch
 * budget is spent. Logs the aggregate and each failure.
 */
export const handler = loggedHandler('check-tasks', async (event, log, context) => {
  const { state } = parseOrThrow(CheckTasksEventSchema, event, 'event');
  log.append({ phase: state.phase });
  const config = await loadConfig(clients);
  const result = await checkTasks(state, { clients, clock, config }, startWatch(config, clock, context));
  for (const failure of result.failures) {
    log.warn(describeTaskFailure(failure), { ...failure });
  }
  const failed = result.failures.length;
  log.done(
    `${result.phase}: ${result.status}, ${failed ? `${failed} of ${result.tasks.length} tasks failed` : `${result.tasks.length} tasks`}`,
    { status: result.status, tasks: result.tasks.length, failed },
    result.status === 'FAILED' ? 'warn' : 'info',
  );
  return result;
});
