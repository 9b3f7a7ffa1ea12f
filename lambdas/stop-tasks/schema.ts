import * as z from 'zod';
import { CaughtErrorSchema, PhaseSchema, PlanSchema, TaskPhaseStateSchema } from '../shared/schemas.js';
import type { CaughtError, Phase, Plan, TaskPhaseState } from '../shared/types.js';

/**
 * What the state machine passes StopTasks: the phase's state when its check returned
 * FAILED, or the caught error when StartTasks or CheckTasks threw.
 */
export interface StopTasksEvent {
  phase: Phase;
  plan: Plan;
  state?: TaskPhaseState;
  error?: CaughtError;
}

/** The event's schema. */
export const StopTasksEventSchema: z.ZodType<StopTasksEvent> = z.object({
  phase: PhaseSchema,
  plan: PlanSchema,
  state: TaskPhaseStateSchema.optional(),
  error: CaughtErrorSchema.optional(),
});
