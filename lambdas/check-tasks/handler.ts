import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { type LambdaContext, startWatch } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { TaskPhaseState } from '../shared/types.js';
import { checkTasks } from './core.js';
import { CheckTasksEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ ecs: ECSClient, ssm: SSMClient });
const clock = systemClock();

/** CheckTasks: watches a phase's tasks until they all succeeded, one failed, or the watch budget is spent. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<TaskPhaseState> => {
  const { state } = parseOrThrow(CheckTasksEventSchema, event, 'event');
  const config = await loadConfig(clients);
  return checkTasks(state, { clients, clock, config }, startWatch(config, clock, context));
};
