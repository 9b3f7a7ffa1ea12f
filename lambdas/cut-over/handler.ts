import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import type { DeployState } from '../shared/types.js';
import { cutOver } from './core.js';
import { parseCutOverEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** CutOver: moves production traffic on every deployment of the wave at once, once all are Ready. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<DeployState> => {
  const { state } = parseCutOverEvent(event);
  return cutOver({ clients, clock, config: await loadConfig(clients) }, state);
};
