import { z } from 'zod';

/**
 * The events `tail-deploy` reports, one schema per type. `--json` writes each as one line
 * (NDJSON); `docs/tail-deploy-events.schema.json` is generated from these schemas, so the
 * documented format and the emitted one cannot drift.
 */

const time = z.iso.datetime().describe('When it happened (ISO 8601, UTC).');
const environment = z.string().describe('Environment name, as in the deploy configuration.');
const step = z.string().describe('The task step: `migrate` or a pre-/post-deploy step name.');
const taskArn = z.string().describe('ECS task ARN.');

/** A state of the state machine was entered: the run moved to another phase. */
export const PhaseEventSchema = z
  .object({
    type: z.literal('phase'),
    time,
    state: z.string().describe('State name, as the Step Functions console shows it.'),
    stateType: z.string().describe('Kind of state: Task, Choice, Parallel, Succeed, Fail...'),
  })
  .describe('The run entered a state.');

/** A task of a phase was started (learned from the execution history). */
export const TaskStartedEventSchema = z
  .object({
    type: z.literal('task-started'),
    time,
    phase: z.string().describe('pre-deploy, migrate or post-deploy.'),
    environment,
    step,
    taskArn,
    region: z.string(),
    logGroup: z.string(),
    logStream: z.string(),
  })
  .describe('A task started; its log lines follow as `log` events.');

/** One line a task wrote, from its CloudWatch Logs stream. */
export const LogEventSchema = z
  .object({
    type: z.literal('log'),
    time: time.describe('When the line was written (the log event timestamp).'),
    environment,
    step,
    taskArn,
    message: z.string(),
  })
  .describe('One log line of a task, printed once, in stream order.');

/** A task stopped and its log stream was read to the end. */
export const TaskStoppedEventSchema = z
  .object({
    type: z.literal('task-stopped'),
    time,
    environment,
    step,
    taskArn,
    exitCode: z.number().int().nullable().describe('Exit code of the container; null when it has none.'),
    durationMs: z.number().nullable().describe('From start (or creation) to stop; null when unknown.'),
    stopCode: z.string().optional(),
    reason: z.string().optional(),
  })
  .describe('A task stopped; every line of its stream was printed before this event.');

/** A CodeDeploy deployment changed status or shifted traffic. */
export const DeploymentEventSchema = z
  .object({
    type: z.literal('deployment'),
    time,
    environment,
    service: z.string(),
    deploymentId: z.string(),
    status: z
      .string()
      .describe('CodeDeploy status: Created, Queued, InProgress, Ready, Succeeded, Failed, Stopped.'),
    trafficShifted: z
      .boolean()
      .describe('Traffic moved to the replacement tasks (termination wait started).'),
    rollback: z.boolean().describe('This deployment rolls a deployment of the run back.'),
    message: z.string().optional().describe('The latest status message or error.'),
  })
  .describe('A deployment changed status or shifted traffic.');

/** The run decided or finished rolling back one (environment, service). */
export const RollbackEventSchema = z
  .object({
    type: z.literal('rollback'),
    time,
    environment,
    service: z.string(),
    deploymentId: z.string(),
    action: z.enum(['stop', 'redeploy', 'adopt', 'none']),
    rollbackDeploymentId: z.string().optional(),
    status: z.string().optional().describe('Terminal status once known.'),
  })
  .describe('A rollback of one (environment, service).');

/** Plan ended the termination wait of an earlier release's deployment so this release can deploy. */
export const TerminationWaitEndedEventSchema = z
  .object({
    type: z.literal('termination-wait-ended'),
    time,
    environment,
    service: z.string(),
    deploymentId: z.string().describe("The earlier release's deployment."),
    release: z.string().describe('The earlier release.'),
  })
  .describe(
    "The run ended an earlier release's termination wait (ContinueDeployment): CodeDeploy terminates that release's original tasks.",
  );

/** Exit status names, as Step Functions reports them, plus DETACHED for Ctrl+C. */
export const RunStatusSchema = z.enum(['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT', 'DETACHED']);

/** A task log stream that was not read to its end. */
export const IncompleteLogSchema = z
  .object({
    environment,
    step,
    taskArn,
    region: z.string(),
    logGroup: z.string(),
    logStream: z.string(),
    logLines: z.number().int().describe('Lines printed from the stream before it was given up.'),
    reason: z.string().describe('Why the rest could not be read.'),
  })
  .describe('A log stream whose lines were not all printed.');

/** The last event: how the run ended and the exit code `tail-deploy` returns. */
export const SummaryEventSchema = z
  .object({
    type: z.literal('summary'),
    time,
    executionArn: z.string(),
    release: z.string().optional(),
    rollbackTo: z.string().optional().describe('Set for a rollback: the earlier release it deployed again.'),
    status: RunStatusSchema,
    outcome: z.string().optional().describe('Announced outcome: SUCCEEDED, FAILED or ROLLED_BACK.'),
    exitCode: z.number().int(),
    complete: z
      .boolean()
      .describe('True when every line of every task log stream was printed; false when detached.'),
    incomplete: z
      .array(IncompleteLogSchema)
      .optional()
      .describe('The log streams not read to their end, when there are any.'),
    durationMs: z.number().nullable(),
    error: z.string().optional(),
    cause: z.string().optional(),
    tasks: z.array(
      z.object({
        environment,
        step,
        taskArn,
        exitCode: z.number().int().nullable(),
        logLines: z.number().int(),
      }),
    ),
    deployments: z.array(
      z.object({ environment, service: z.string(), deploymentId: z.string(), status: z.string() }),
    ),
  })
  .describe('How the run ended; always the last event.');

/** Something could not be read; following goes on unless the exit code says otherwise. */
export const ErrorEventSchema = z
  .object({
    type: z.literal('error'),
    time,
    message: z.string(),
    code: z.string().optional().describe('The AWS error name, when the error came from AWS.'),
  })
  .describe('A problem reading the run.');

/** Every event `tail-deploy` reports. */
export const TailEventSchema = z
  .discriminatedUnion('type', [
    PhaseEventSchema,
    TaskStartedEventSchema,
    LogEventSchema,
    TaskStoppedEventSchema,
    DeploymentEventSchema,
    RollbackEventSchema,
    TerminationWaitEndedEventSchema,
    SummaryEventSchema,
    ErrorEventSchema,
  ])
  .describe('One line of `tail-deploy --json` output.');

/** One event of `tail-deploy`. */
export type TailEvent = z.infer<typeof TailEventSchema>;
/** The status a followed run ended with. */
export type RunStatus = z.infer<typeof RunStatusSchema>;
/** The closing summary. */
export type SummaryEvent = z.infer<typeof SummaryEventSchema>;
/** A log stream the summary reports as not read to its end. */
export type IncompleteLog = z.infer<typeof IncompleteLogSchema>;

/** The JSON Schema of one NDJSON line, as published in `docs/tail-deploy-events.schema.json`. */
export function eventsJsonSchema(): Record<string, unknown> {
  return {
    title: 'tail-deploy --json event',
    ...z.toJSONSchema(TailEventSchema, { target: 'draft-2020-12' }),
  };
}
