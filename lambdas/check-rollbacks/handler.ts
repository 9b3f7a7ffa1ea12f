import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { type LambdaContext, watchBudgetPolls } from '../shared/lambda-context.js';
import type { RollbackState } from '../shared/types.js';
import { checkRollbacks } from './core.js';
import { parseCheckRollbacksEvent } from './schema.js';

const clients = createClients();
const clock = systemClock();

/** CheckRollbacks: follows every rollback of the run until all are terminal or the watch ends. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<RollbackState> => {
  const { state } = parseCheckRollbacksEvent(event);
  const config = await loadConfig(clients);
  return checkRollbacks({ clients, clock, config }, state, watchBudgetPolls(config, context));
};
