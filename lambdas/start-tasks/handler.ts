import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { TaskPhaseState } from '../shared/types.js';
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

/** StartTasks: runs every task of a phase in every environment of the plan. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<TaskPhaseState> =>
  startTasks(parseOrThrow(StartTasksEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
    tokenTtlMs: tokenTtlMs(),
  });
