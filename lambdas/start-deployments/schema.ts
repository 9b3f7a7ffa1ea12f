import * as z from 'zod';
import { PlanSchema, parseOrThrow } from '../shared/schemas.js';
import type { Plan } from '../shared/types.js';

/** What the state machine passes StartDeployments. */
export interface StartDeploymentsEvent {
  plan: Plan;
  executionArn: string;
}

const EventSchema = z.object({ plan: PlanSchema, executionArn: z.string().min(1) });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseStartDeploymentsEvent(event: unknown): StartDeploymentsEvent {
  return parseOrThrow(EventSchema, event, 'event');
}
