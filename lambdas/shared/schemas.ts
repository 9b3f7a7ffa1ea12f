import type { ZodType } from 'zod';
import * as z from 'zod';
import { ValidationError } from './errors.js';
import type {
  AlarmBreach,
  BakeState,
  CaughtError,
  DeployState,
  Phase,
  Plan,
  RetireReport,
  RollbackState,
  TaskPhaseState,
} from './types.js';

/**
 * Zod schemas of the state the state machine hands the handlers, typed against
 * `types.ts` so the two cannot drift, and the one way handlers turn a parse failure into
 * a `ValidationError` naming the field.
 */

/** Renders a zod issue path the way the state reads: `event.plan.environments[1]`. */
export function fieldPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`),
    root,
  );
}

/** One line per problem, each naming its field; unknown keys get a line each. */
export function describeIssues(root: string, error: z.ZodError): string[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${fieldPath(root, [...issue.path, key])}: ${issue.message}`)
      : [`${fieldPath(root, issue.path)}: ${issue.message}`],
  );
}

/** Parses `value` with `schema`; every problem becomes one `ValidationError` naming the fields. */
export function parseOrThrow<T>(schema: ZodType<T>, value: unknown, root: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(describeIssues(root, parsed.error).join('\n'));
}

const revision = z.string().regex(/^[^:]+:\d+$/, 'expected a task definition revision as family:revision');
const revisionNumber = z.number().int().positive();
const status = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']);

/** A task phase. */
export const PhaseSchema: ZodType<Phase> = z.enum(['pre-deploy', 'migrate', 'post-deploy']);

/** Plan's output, `$.plan`. */
export const PlanSchema: ZodType<Plan> = z.object({
  release: z.string().min(1),
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,36}$/, 'expected an ECS startedBy of 1-36 of A-Z a-z 0-9 _ -'),
  startedAt: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id'),
  environments: z.array(z.string().min(1)),
  skipMigrations: z.boolean(),
  oneOff: z.record(z.string(), revision),
  services: z.record(z.string(), z.record(z.string(), z.tuple([revisionNumber, revisionNumber]))),
  waves: z
    .array(
      z.object({
        environments: z.array(z.string().min(1)).min(1),
        cutover: z.enum(['together', 'independent']),
      }),
    )
    .min(1)
    .optional(),
  rollbackTo: z.string().min(1).optional(),
  endedWaits: z
    .array(
      z.object({
        release: z.string().min(1),
        deployments: z.record(z.string(), z.record(z.string(), z.string().min(1))),
      }),
    )
    .optional(),
});

/** A caught error as a Catch clause stores it (`$.error`). */
export const CaughtErrorSchema: ZodType<CaughtError> = z.object({
  Error: z.string(),
  Cause: z.string(),
});

/** A task phase's state, `$.preDeploy`, `$.migrate`, `$.postDeploy`. */
export const TaskPhaseStateSchema: ZodType<TaskPhaseState> = z.object({
  phase: PhaseSchema,
  tasks: z.array(
    z.object({
      environment: z.string().min(1),
      step: z.string().min(1),
      taskArn: z.string().min(1),
      log: z.object({ logGroup: z.string(), logStream: z.string(), region: z.string() }).optional(),
    }),
  ),
  status,
  failures: z.array(
    z.object({
      environment: z.string(),
      step: z.string(),
      taskArn: z.string().optional(),
      exitCode: z.number().int().nullable(),
      stopCode: z.string().optional(),
      reason: z.string(),
    }),
  ),
  omittedFailures: z.number().int().nonnegative().optional(),
  startedAt: z.string().min(1).optional(),
  stopped: z.array(z.string()).optional(),
});

const deploymentRef = {
  environment: z.string().min(1),
  service: z.string().min(1),
  deploymentId: z.string().min(1),
};

/** An alarm that went into ALARM while a wave was out. */
export const AlarmBreachSchema: ZodType<AlarmBreach> = z.object({
  environment: z.string(),
  alarmName: z.string(),
  at: z.string(),
  reason: z.string(),
});

/** The deployments' state, `$.deploy`. */
export const DeployStateSchema: ZodType<DeployState> = z.object({
  deployments: z.record(z.string(), z.record(z.string(), z.string().min(1))),
  status: z.enum(['RUNNING', 'READY', 'SUCCEEDED', 'FAILED']),
  failures: z.array(z.object({ ...deploymentRef, status: z.string(), reason: z.string() })),
  omittedFailures: z.number().int().nonnegative().optional(),
  watchedSince: z.string().min(1).optional(),
  wave: z
    .object({
      index: z.number().int().nonnegative(),
      of: z.number().int().positive(),
      environments: z.array(z.string().min(1)),
      cutover: z.enum(['together', 'independent']),
      startedAt: z.string().min(1),
      cutOverAt: z.string().optional(),
      trafficMovedAt: z.string().optional(),
    })
    .optional(),
  alarms: z.array(AlarmBreachSchema).optional(),
});

/** A wave's bake, `$.bake`. */
export const BakeStateSchema: ZodType<BakeState> = z.object({
  wave: z.number().int().nonnegative(),
  status,
  until: z.string().min(1),
  alarms: z.array(AlarmBreachSchema),
  nextWave: z.number().int().positive().optional(),
});

/** The rollbacks' state, `$.rollback`. */
export const RollbackStateSchema: ZodType<RollbackState> = z.object({
  rollbacks: z.array(
    z.object({
      ...deploymentRef,
      action: z.enum(['stop', 'redeploy', 'adopt', 'none']),
      rollbackDeploymentId: z.string().optional(),
      deploymentStatus: z.string().optional(),
      status: z.string().optional(),
      back: z.boolean().optional(),
    }),
  ),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'REDEPLOY']),
  kept: z.array(z.string()).optional(),
});

/** RetireOldWorkers' report, `$.retire`. */
export const RetireReportSchema: ZodType<RetireReport> = z.object({
  workers: z.array(
    z.object({
      environment: z.string(),
      service: z.string(),
      deploymentId: z.string().optional(),
      action: z.enum(['continue-deployment', 'none']),
      reason: z.string(),
    }),
  ),
});

/**
 * The parts of the run state RollBack, RetireOldWorkers and StartDeployments read: the plan,
 * the deployments once StartDeployments returned, and the last wave's bake once it ran.
 */
export interface PlanAndDeploy {
  plan: Plan;
  deploy?: DeployState;
  bake?: BakeState;
}

// The run state carries much more; only what these handlers read is checked.
const PlanAndDeployEventSchema = z.object({
  state: z.looseObject({
    plan: PlanSchema,
    deploy: DeployStateSchema.optional(),
    bake: BakeStateSchema.optional(),
  }),
});

/** Parses `{ state }` for a handler that reads the plan and the deployments; a bad one is a `ValidationError` naming the field. */
export function parsePlanAndDeployEvent(event: unknown): { state: PlanAndDeploy } {
  const { state } = parseOrThrow(PlanAndDeployEventSchema, event, 'event');
  return { state: { plan: state.plan, deploy: state.deploy, bake: state.bake } };
}
