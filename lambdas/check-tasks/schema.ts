import * as z from 'zod';
import { TaskPhaseStateSchema } from '../shared/schemas.js';
import type { TaskPhaseState } from '../shared/types.js';

/** What the state machine passes CheckTasks: the phase state StartTasks (or the last check) returned. */
export interface CheckTasksEvent {
  state: TaskPhaseState;
}

/** The event's schema. */
export const CheckTasksEventSchema: z.ZodType<CheckTasksEvent> = z.object({ state: TaskPhaseStateSchema });
