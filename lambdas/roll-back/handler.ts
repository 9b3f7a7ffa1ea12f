import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import type { RollbackState } from '../shared/types.js';
import { rollBack } from './core.js';
import { parseRollBackEvent } from './schema.js';

const clients = createClients();
const clock = systemClock();

/** RollBack: starts the rollback of every deployment of the run. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<RollbackState> => {
  const { state } = parseRollBackEvent(event);
  return rollBack({ clients, clock, config: await loadConfig(clients) }, state);
};
