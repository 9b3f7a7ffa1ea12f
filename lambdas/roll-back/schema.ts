import { z } from 'zod';
import { DeployStateSchema, PlanSchema, parseOrThrow } from '../shared/schemas.js';
import type { DeployState, Plan } from '../shared/types.js';

/** The parts of the run state RollBack reads: the plan, and the deployments when StartDeployments returned. */
export interface RollBackRun {
  plan: Plan;
  deploy?: DeployState;
}

/** What the state machine passes RollBack. */
export interface RollBackEvent {
  state: RollBackRun;
}

// The run state carries much more; only what RollBack reads is checked.
const EventSchema = z.object({
  state: z.looseObject({ plan: PlanSchema, deploy: DeployStateSchema.optional() }),
});

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseRollBackEvent(event: unknown): RollBackEvent {
  const { state } = parseOrThrow(EventSchema, event, 'event');
  return { state: { plan: state.plan, deploy: state.deploy } };
}
