import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { type LambdaContext, startWatch } from '../shared/lambda-context.js';
import type { RollbackState } from '../shared/types.js';
import { checkRollbacks } from './core.js';
import { parseCheckRollbacksEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** CheckRollbacks: follows every rollback of the run until all are terminal or the watch ends. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<RollbackState> => {
  const { state } = parseCheckRollbacksEvent(event);
  const config = await loadConfig(clients);
  return checkRollbacks({ clients, clock, config }, state, startWatch(config, clock, context));
};
