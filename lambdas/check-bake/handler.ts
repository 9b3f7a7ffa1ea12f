import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describeBreach } from '../shared/breaches.js';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { checkBake } from './core.js';
import { parseCheckBakeEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ cloudwatch: CloudWatchClient, ssm: SSMClient });
const clock = systemClock();

/** Bake: watches the wave's alarms for the bake time once its traffic moved. Logs each alarm that fired. */
export const handler = loggedHandler('check-bake', async (event, log, context) => {
  const { state } = parseCheckBakeEvent(event);
  const config = await loadConfig(clients);
  const result = await checkBake({ clients, clock, config }, state, startWatch(config, clock, context));
  for (const breach of result.alarms) log.warn(describeBreach(breach), { ...breach });
  log.done(
    `wave ${result.wave}: bake ${result.status} (until ${result.until})`,
    { status: result.status, wave: result.wave, alarms: result.alarms.length },
    result.status === 'FAILED' ? 'warn' : 'info',
  );
  return result;
});
