import { type PlanAndDeploy, parsePlanAndDeployEvent } from '../shared/schemas.js';

/** The parts of the run state RetireOldWorkers reads. */
export type RetireRun = PlanAndDeploy;

/** What the state machine passes RetireOldWorkers. */
export interface RetireOldWorkersEvent {
  state: RetireRun;
}

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export const parseRetireOldWorkersEvent: (event: unknown) => RetireOldWorkersEvent = parsePlanAndDeployEvent;
