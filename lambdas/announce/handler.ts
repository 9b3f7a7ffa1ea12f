import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { Announcement } from '../shared/types.js';
import { announce } from './core.js';
import { AnnounceEventSchema } from './schema.js';

const clients = createClients();
const clock = systemClock();

/** Announce: decides the run's outcome from its state and puts it on EventBridge. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<Announcement> =>
  announce(parseOrThrow(AnnounceEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
  });
