import * as z from 'zod';
import {
  type PlanAndDeploy,
  parseOrThrow,
  parsePlanAndDeployEvent,
  RetireReportSchema,
} from '../shared/schemas.js';
import type { RetireReport } from '../shared/types.js';

/** The parts of the run state RetireOldWorkers reads: the plan, the deployments and the earlier waves' report. */
export interface RetireRun extends PlanAndDeploy {
  /** What RetireOldWorkers did for the waves before the current one. */
  retire?: RetireReport;
}

/** What the state machine passes RetireOldWorkers. */
export interface RetireOldWorkersEvent {
  state: RetireRun;
}

// The run state carries much more; only the report is checked here, the rest by the shared parser.
const RetireEventSchema = z.object({ state: z.looseObject({ retire: RetireReportSchema.optional() }) });

/** Parses the event; a bad one is a `ValidationError` naming the field. */
export function parseRetireOldWorkersEvent(event: unknown): RetireOldWorkersEvent {
  const { state } = parsePlanAndDeployEvent(event);
  const { retire } = parseOrThrow(RetireEventSchema, event, 'event').state;
  return { state: { ...state, ...(retire ? { retire } : {}) } };
}
