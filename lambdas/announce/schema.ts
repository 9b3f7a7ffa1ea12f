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

/** The event as the state machine sends it: with the execution input, of any JSON type. */
export interface AnnounceRequest {
  state: unknown;
  executionArn: string;
  input?: unknown;
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

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The run state Announce reads, from what it was sent: after Plan's Catch the state is only the
 * caught error (`{Error, Cause}`), which becomes `error`; a state that is not an object (the
 * execution input itself, should the state machine pass it) carries nothing. `release`,
 * `rollbackTo` and `environments` not in the state are read from the execution input when it is an object.
 */
export function runStateOf(state: unknown, input: unknown): Record<string, unknown> {
  const caught =
    isObject(state) &&
    Object.keys(state).sort().join(',') === 'Cause,Error' &&
    typeof state.Error === 'string' &&
    typeof state.Cause === 'string';
  const run: Record<string, unknown> = caught ? { error: state } : isObject(state) ? { ...state } : {};
  if (isObject(input)) {
    run.release ??= input.release;
    run.rollbackTo ??= input.rollbackTo;
    run.environments ??= input.environments;
  }
  return run;
}

const StateSchema = z.object({
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
});

/** The event's schema: the state as `runStateOf` reads it, with the input, if sent. */
export const AnnounceEventSchema: z.ZodType<AnnounceEvent, AnnounceRequest> = z
  .object({
    state: z.unknown(),
    executionArn: z.string().startsWith('arn:', 'expected the execution ARN (JsonPath.executionId)'),
    input: z.unknown().optional(),
  })
  .transform((event, context) => {
    const state = StateSchema.safeParse(runStateOf(event.state, event.input));
    if (!state.success) {
      for (const issue of state.error.issues) context.addIssue({ ...issue, path: ['state', ...issue.path] });
      return z.NEVER;
    }
    return { state: state.data, executionArn: event.executionArn };
  });
