import * as z from 'zod';
import { parseOrThrow, RollbackStateSchema } from '../shared/schemas.js';
import type { RollbackState } from '../shared/types.js';

/** What the state machine passes AwaitRollbacks' check. */
export interface CheckRollbacksEvent {
  state: RollbackState;
}

const EventSchema = z.object({ state: RollbackStateSchema });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseCheckRollbacksEvent(event: unknown): CheckRollbacksEvent {
  return parseOrThrow(EventSchema, event, 'event');
}
