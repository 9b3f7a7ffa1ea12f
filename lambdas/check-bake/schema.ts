import * as z from 'zod';
import { DeployStateSchema, parseOrThrow } from '../shared/schemas.js';
import type { DeployState } from '../shared/types.js';

/** What the state machine passes Bake: the deployments' state of the wave that baked. */
export interface CheckBakeEvent {
  state: DeployState;
}

const EventSchema = z.object({ state: DeployStateSchema });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseCheckBakeEvent(event: unknown): CheckBakeEvent {
  return parseOrThrow(EventSchema, event, 'event');
}
