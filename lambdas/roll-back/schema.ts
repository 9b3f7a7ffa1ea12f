import { type PlanAndDeploy, parsePlanAndDeployEvent } from '../shared/schemas.js';

/** The parts of the run state RollBack reads: the plan, and the deployments when StartDeployments returned. */
export type RollBackRun = PlanAndDeploy;

/** What the state machine passes RollBack. */
export interface RollBackEvent {
  state: RollBackRun;
}

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export const parseRollBackEvent: (event: unknown) => RollBackEvent = parsePlanAndDeployEvent;
