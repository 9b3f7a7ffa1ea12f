import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import type { DeployState } from '../shared/types.js';
import { startDeployments } from './core.js';
import { parseStartDeploymentsEvent } from './schema.js';

const clients = createClients();
const clock = systemClock();

/** StartDeployments: one CodeDeploy deployment per (environment, service) of the plan. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<DeployState> => {
  const { plan } = parseStartDeploymentsEvent(event);
  return startDeployments({ clients, clock, config: await loadConfig(clients) }, plan);
};
