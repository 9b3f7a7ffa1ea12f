import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { TaskPhaseState } from '../shared/types.js';
import { startTasks } from './core.js';
import { StartTasksEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ ecs: ECSClient, ssm: SSMClient });
const clock = systemClock();

/** StartTasks: runs every task of a phase in every environment of the plan. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<TaskPhaseState> =>
  startTasks(parseOrThrow(StartTasksEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
  });
