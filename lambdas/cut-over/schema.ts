import * as z from 'zod';
import { DeployStateSchema, parseOrThrow } from '../shared/schemas.js';
import type { DeployState } from '../shared/types.js';

/** What the state machine passes CutOver: the deployments' state, every one of the wave Ready. */
export interface CutOverEvent {
  state: DeployState;
}

const EventSchema = z.object({ state: DeployStateSchema });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseCutOverEvent(event: unknown): CutOverEvent {
  return parseOrThrow(EventSchema, event, 'event');
}
