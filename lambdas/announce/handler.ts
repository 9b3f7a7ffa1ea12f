import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { parseOrThrow } from '../shared/schemas.js';
import { announce } from './core.js';
import { AnnounceEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ events: EventBridgeClient, ssm: SSMClient });
const clock = systemClock();

/** Announce: decides the run's outcome from its state and puts it on EventBridge; logs the outcome. */
export const handler = loggedHandler('announce', async (event, log) => {
  const announcement = await announce(parseOrThrow(AnnounceEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
  });
  log.done(
    `${announcement.detailType}: ${announcement.summary}`,
    {
      outcome: announcement.outcome,
      detailType: announcement.detailType,
      error: announcement.error,
      cause: announcement.cause,
    },
    announcement.outcome === 'SUCCEEDED' ? 'info' : 'warn',
  );
  return announcement;
});
