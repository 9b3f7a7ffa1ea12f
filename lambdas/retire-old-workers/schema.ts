import { z } from 'zod';
import { DeployStateSchema, PlanSchema, parseOrThrow } from '../shared/schemas.js';
import type { DeployState, Plan } from '../shared/types.js';

/** The parts of the run state RetireOldWorkers reads. */
export interface RetireRun {
  plan: Plan;
  deploy?: DeployState;
}

/** What the state machine passes RetireOldWorkers. */
export interface RetireOldWorkersEvent {
  state: RetireRun;
}

// The run state carries much more; only what RetireOldWorkers reads is checked.
const EventSchema = z.object({
  state: z.looseObject({ plan: PlanSchema, deploy: DeployStateSchema.optional() }),
});

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseRetireOldWorkersEvent(event: unknown): RetireOldWorkersEvent {
  const { state } = parseOrThrow(EventSchema, event, 'event');
  return { state: { plan: state.plan, deploy: state.deploy } };
}
