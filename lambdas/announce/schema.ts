import * as z from 'zod';
import {
  BakeStateSchema,
  CaughtErrorSchema,
  DeployStateSchema,
  PlanSchema,
  RetireReportSchema,
  RollbackStateSchema,
  TaskPhaseStateSchema,
} from '../shared/schemas.js';
import type { RunState } from '../shared/types.js';

/**
 * The run state as Announce reads it. The input part may be anything the execution was
 * started with (Announce also reports a rejected input), so `release` and `environments`
 * are kept only when they have the right shape.
 */
export type AnnounceState = Omit<
  RunState,
  'release' | 'images' | 'environments' | 'skipMigrations' | 'announce'
> & {
  release?: string;
  environments?: string[];
};

/** What the state machine passes Announce: the whole state, and the execution ARN. */
export interface AnnounceEvent {
  state: AnnounceState;
  executionArn: string;
}

const stringOrNothing = z
  .unknown()
  .transform((value) => (typeof value === 'string' ? value : undefined))
  .optional();
const isNames = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const namesOrNothing = z
  .unknown()
  .transform((value) => (isNames(value) ? value : undefined))
  .optional();

/** The event's schema. */
export const AnnounceEventSchema: z.ZodType<AnnounceEvent> = z.object({
  state: z.object({
    release: stringOrNothing,
    rollbackTo: stringOrNothing,
    environments: namesOrNothing,
    plan: PlanSchema.optional(),
    preDeploy: TaskPhaseStateSchema.optional(),
    migrate: TaskPhaseStateSchema.optional(),
    postDeploy: TaskPhaseStateSchema.optional(),
    deploy: DeployStateSchema.optional(),
    bake: BakeStateSchema.optional(),
    rollback: RollbackStateSchema.optional(),
    retire: RetireReportSchema.optional(),
    error: CaughtErrorSchema.optional(),
    retireError: CaughtErrorSchema.optional(),
    postDeployError: CaughtErrorSchema.optional(),
  }),
  executionArn: z.string().startsWith('arn:', 'expected the execution ARN (JsonPath.executionId)'),
});
