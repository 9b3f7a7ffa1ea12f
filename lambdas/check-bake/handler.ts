import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { type LambdaContext, startWatch } from '../shared/lambda-context.js';
import type { BakeState } from '../shared/types.js';
import { checkBake } from './core.js';
import { parseCheckBakeEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ cloudwatch: CloudWatchClient, ssm: SSMClient });
const clock = systemClock();

/** Bake: watches the wave's alarms for the bake time once its traffic moved. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<BakeState> => {
  const { state } = parseCheckBakeEvent(event);
  const config = await loadConfig(clients);
  return checkBake({ clients, clock, config }, state, startWatch(config, clock, context));
};
