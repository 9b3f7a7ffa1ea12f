import * as z from 'zod';
import { type PlanAndDeploy, parseOrThrow, parsePlanAndDeployEvent } from '../shared/schemas.js';

/**
 * What the state machine passes StartDeployments: the run state (the plan, and once a wave
 * baked, the deployments so far and the bake, which names the next wave), and the execution ARN.
 */
export interface StartDeploymentsEvent {
  state: PlanAndDeploy;
  executionArn: string;
}

const ExecutionSchema = z.looseObject({ executionArn: z.string().min(1) });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseStartDeploymentsEvent(event: unknown): StartDeploymentsEvent {
  const { executionArn } = parseOrThrow(ExecutionSchema, event, 'event');
  return { state: parsePlanAndDeployEvent(event).state, executionArn };
}
