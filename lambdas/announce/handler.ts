import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { Announcement } from '../shared/types.js';
import { announce } from './core.js';
import { AnnounceEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ events: EventBridgeClient, ssm: SSMClient });
const clock = systemClock();

/** Announce: decides the run's outcome from its state and puts it on EventBridge. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<Announcement> =>
  announce(parseOrThrow(AnnounceEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
  });
