import * as z from 'zod';
import {
  type PlanAndDeploy,
  parseOrThrow,
  parsePlanAndDeployEvent,
  RollbackStateSchema,
} from '../shared/schemas.js';
import type { RollbackState } from '../shared/types.js';

/**
 * The parts of the run state RollBack reads: the plan, the deployments when StartDeployments
 * returned, and the rollbacks when AwaitRollbacks sent it back to redeploy (`REDEPLOY`).
 */
export interface RollBackRun extends PlanAndDeploy {
  rollback?: RollbackState;
}

/** What the state machine passes RollBack. */
export interface RollBackEvent {
  state: RollBackRun;
}

// The run state carries much more; only what RollBack reads besides the plan and deployments.
const RollbackEventSchema = z.object({
  state: z.looseObject({ rollback: RollbackStateSchema.optional() }),
});

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseRollBackEvent(event: unknown): RollBackEvent {
  const { state } = parsePlanAndDeployEvent(event);
  const { rollback } = parseOrThrow(RollbackEventSchema, event, 'event').state;
  return { state: rollback ? { ...state, rollback } : state };
}
