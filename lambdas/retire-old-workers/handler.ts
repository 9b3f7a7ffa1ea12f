import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import type { RetireReport } from '../shared/types.js';
import { retireOldWorkers } from './core.js';
import { parseRetireOldWorkersEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** RetireOldWorkers: once a wave's traffic moved, ends the termination wait of its worker services' deployments. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<RetireReport> => {
  const { state } = parseRetireOldWorkersEvent(event);
  return retireOldWorkers({ clients, clock, config: await loadConfig(clients) }, state);
};
