import * as z from 'zod';
import { PhaseSchema, PlanSchema } from '../shared/schemas.js';
import type { Phase, Plan } from '../shared/types.js';

/** What the state machine passes StartTasks. */
export interface StartTasksEvent {
  phase: Phase;
  plan: Plan;
  executionArn: string;
}

/** The event's schema. */
export const StartTasksEventSchema: z.ZodType<StartTasksEvent> = z.object({
  phase: PhaseSchema,
  plan: PlanSchema,
  executionArn: z.string().startsWith('arn:', 'expected the execution ARN (JsonPath.executionId)'),
});
