import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import type { RollbackState } from '../shared/types.js';
import { rollBack } from './core.js';
import { parseRollBackEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** RollBack: starts the rollback of every deployment of the run. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<RollbackState> => {
  const { state } = parseRollBackEvent(event);
  return rollBack({ clients, clock, config: await loadConfig(clients) }, state);
};
