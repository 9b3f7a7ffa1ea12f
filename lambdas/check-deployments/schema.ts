import * as z from 'zod';
import { DeployStateSchema, parseOrThrow } from '../shared/schemas.js';
import type { DeployState } from '../shared/types.js';

/** What the state machine passes CheckDeployments. */
export interface CheckDeploymentsEvent {
  state: DeployState;
}

const EventSchema = z.object({ state: DeployStateSchema });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseCheckDeploymentsEvent(event: unknown): CheckDeploymentsEvent {
  return parseOrThrow(EventSchema, event, 'event');
}
