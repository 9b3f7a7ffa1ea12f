import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  paginateGetExecutionHistory,
} from '@aws-sdk/client-sfn';
import { checkRollbacks } from '../check-rollbacks/core.js';
import { redeployNotBack, rollBack } from '../roll-back/core.js';
import { failureOf, inCall, inCallPages } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import {
  batchGetByRegion,
  type DeploymentDeps,
  DeploymentTargets,
  hasTrafficMoved,
  withRegion,
} from '../shared/deployments.js';
import { environmentOf } from '../shared/ecs-tasks.js';
import { RollbackFailedError, RollbackInFlightError } from '../shared/errors.js';
import { parseJsonOrUndefined } from '../shared/json.js';
import { startWatch, type Watch } from '../shared/lambda-context.js';
import { deploymentRefs } from '../shared/revisions.js';
import { DeployStateSchema, PlanSchema } from '../shared/schemas.js';
import { stopRunTasks } from '../shared/stop-run-tasks.js';
import type { DeployState, Plan, RollbackRef, RollbackState } from '../shared/types.js';
import { plannedWaves, waveOf } from '../shared/waves.js';
import type { ExecutionStatusChangeEvent } from './schema.js';

/**
 * What cleanup calls: Step Functions for the run's history, ECS to stop its tasks,
 * CodeDeploy to roll back its deployments.
 */
export type CleanupDeps = DeploymentDeps<'sfn' | 'ecs' | 'codedeploy'>;

/** What cleanup did for one execution. */
export interface CleanupReport {
  executionArn: string;
  /** The execution's status as Step Functions reported it when cleanup ran. */
  executionStatus: string;
  /** Tasks of the run cleanup asked ECS to stop. */
  stoppedTasks: Array<{ environment: string; taskArn: string }>;
  /** The run's deployments and how each was rolled back, followed until each ended back. */
  rollbacks: RollbackRef[];
  /** Why cleanup left something alone, when it did. */
  note?: string;
}

/** What the run left in its history: the plan and, once StartDeployments returned, the deployments. */
export interface RunTrace {
  plan?: Plan;
  /** The latest deployments' state a handler returned. */
  deploy?: DeployState;
}

/**
 * What a handler returned, from the event that records it. A Lambda task invoking the function
 * ARN (`payloadResponseOnly`, as the construct builds them) records `LambdaFunctionSucceeded`
 * with the result itself; one using the `lambda:invoke` integration records `TaskSucceeded`
 * with the Invoke response, the result under `Payload`. Either is read, so the cleanup does not
 * depend on how the tasks are built.
 */
export function handlerOutputOf(event: HistoryEvent): unknown {
  if (event.type === 'LambdaFunctionSucceeded')
    return parseJsonOrUndefined(event.lambdaFunctionSucceededEventDetails?.output);
  if (event.type !== 'TaskSucceeded' || event.taskSucceededEventDetails?.resourceType !== 'lambda')
    return undefined;
  const response = parseJsonOrUndefined(event.taskSucceededEventDetails.output);
  return response !== null && typeof response === 'object' && 'Payload' in response
    ? response.Payload
    : undefined;
}

/**
 * Reads a run's history: the first handler output that is a Plan (it has `runId` and
 * `services`), and the last one that is the deployments' state. No plan means the run
 * started nothing.
 */
export function traceRun(events: readonly HistoryEvent[]): RunTrace {
  const trace: RunTrace = {};
  for (const event of events) {
    const value = handlerOutputOf(event);
    if (value === undefined || value === null) continue;
    if (!trace.plan) {
      const plan = PlanSchema.safeParse(value);
      if (plan.success) {
        trace.plan = plan.data;
        continue;
      }
    }
    const deploy = DeployStateSchema.safeParse(value);
    if (deploy.success) trace.deploy = deploy.data;
  }
  return trace;
}

async function historyOf(deps: CleanupDeps, region: string, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: deps.clients.sfn(region) },
    { executionArn, maxResults: 1000 },
  );
  for await (const page of inCallPages('GetExecutionHistory', executionArn, pages))
    events.push(...(page.events ?? []));
  return events;
}

async function stopRunOf(
  deps: CleanupDeps,
  plan: Plan,
  executionArn: string,
  executionStatus: string,
): Promise<CleanupReport['stoppedTasks']> {
  const executionName = executionArn.split(':').at(-1);
  const reason = `stepdeploy: execution ${executionName} of release ${plan.release} ended ${executionStatus}`;
  const stopped = await Promise.all(
    plan.environments.map(async (name) => {
      const environment = environmentOf(deps.config, name, 'plan.environments');
      const taskArns = await stopRunTasks(deps.clients, environment, plan.runId, reason);
      return taskArns.map((taskArn) => ({ environment: name, taskArn }));
    }),
  );
  return stopped.flat();
}

/**
 * True when traffic moved on every deployment of `deploy`, as CodeDeploy tells now: each
 * succeeded, or waits to terminate its original tasks (its ECS target Succeeded while it is
 * InProgress). The run may have ended before its check saw it.
 */
export async function everyDeploymentMoved(deps: CleanupDeps, deploy: DeployState): Promise<boolean> {
  const refs = deploymentRefs(deploy.deployments).map((ref) => withRegion(deps.config, ref));
  if (refs.length === 0) return false;
  const infos = await batchGetByRegion(deps.clients.codedeploy, refs);
  const located = refs.flatMap((ref) => {
    const info = infos.get(ref.deploymentId);
    return info ? [{ region: ref.region, info }] : [];
  });
  if (located.length < refs.length) return false;
  const moved = await new DeploymentTargets(deps.clients.codedeploy).trafficMoved(located);
  return located.every(({ info }) => hasTrafficMoved(info, moved.has(info.deploymentId ?? '')));
}

/**
 * Cleans up after an execution that ended without running its own Catch (aborted, timed out,
 * or failed): stops every task the run started (by `startedBy`), rolls back its deployments
 * with RollBack's logic and follows the rollbacks until each group is back. Deployments are
 * left alone when the run had seen them all succeed, or CodeDeploy shows traffic moved on every
 * one (some still in their termination wait): a release that is deployed is not rolled back for
 * what happened after (post-deploy steps, announcing), as the flow itself does.
 *
 * A handler the run invoked may still be running after the execution ended (Step Functions
 * does not stop it), and may act on a deployment while it is rolled back: a RetireOldWorkers
 * ending a termination wait can leave CodeDeploy nothing to roll back to, and a stop can come
 * too late. So a rollback that ends without getting back is followed by a deployment of the
 * previous revision. The report says where each rollback ended; `requireEveryGroupBack` then
 * fails the invocation while one is not back, so Lambda runs the cleanup again.
 *
 * Idempotent: a second call finds stopped tasks gone from the listing, adopts CodeDeploy's
 * rollbacks and the rollback deployments it made; two at once (EventBridge may deliver the
 * event twice) end as one, the second adopting the rollback deployment the first created. An
 * execution running again (redriven) is left alone.
 */
export async function cleanup(
  deps: CleanupDeps,
  detail: EndedExecution,
  watch: Watch = startWatch(deps.config, deps.clock),
): Promise<CleanupReport> {
  try {
    return await cleanUp(deps, detail, watch);
  } catch (error) {
    throw failureOf(
      error,
      'Cleanup',
      `execution ${detail.executionArn} ended ${detail.status}; a retry does again what is left`,
    );
  }
}

/**
 * Fails when a rollback of the cleanup's report is not back: `RollbackInFlightError` while one
 * is still going as the cleanup's time ran out, `RollbackFailedError` for a group it could not
 * bring back. Lambda runs the cleanup again (twice), and each run adopts what the one before
 * began.
 */
export function requireEveryGroupBack(report: CleanupReport): void {
  const { executionArn } = report;
  const where = (refs: RollbackRef[]) =>
    refs.map(
      (r) => `${r.environment}/${r.service}${r.rollbackDeploymentId ? ` (${r.rollbackDeploymentId})` : ''}`,
    );
  const going = report.rollbacks.filter((r) => r.back === undefined);
  if (going.length > 0) {
    throw new RollbackInFlightError(
      `The rollbacks of execution ${executionArn} were still going when the cleanup's time ran out: ${listSome(where(going))}. A retry of the cleanup follows them again.`,
    );
  }
  const notBack = report.rollbacks.filter((r) => r.back === false);
  if (notBack.length > 0) {
    throw new RollbackFailedError(
      `The cleanup of execution ${executionArn} could not bring every group back to its previous revision: ${listSome(where(notBack))}. Deploy the previous revision of those by hand in the CodeDeploy console.`,
    );
  }
}

/** What the cleanup reads of the status change event. */
export type EndedExecution = Omit<ExecutionStatusChangeEvent['detail'], 'stateMachineArn'>;

/** Statuses an execution is in while it runs, or again once redriven. */
const GOING = new Set(['RUNNING', 'PENDING_REDRIVE']);

/** DescribeExecution reads again this many times, backing off, while it lags behind the event. */
export const STALE_READS = 5;
const STALE_READ_BASE_MS = 1_000;

/**
 * The execution's status for the cleanup. DescribeExecution is eventually consistent
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html), so
 * right after the ABORTED, FAILED or TIMED_OUT event it may still say RUNNING. Only a redrive makes
 * an ended execution run again, and a redrive raises `redriveCount` above the event's (0 when
 * the event does not carry it) and sets `redriveDate` after the stop: without either, RUNNING is a
 * stale read, read again with backoff and then overruled
 * by the event's status, so an aborted run is never left uncleaned.
 */
async function settledStatus(
  deps: CleanupDeps,
  detail: EndedExecution,
): Promise<{ status: string; redriven: boolean }> {
  const region = detail.executionArn.split(':')[3];
  const sfn = deps.clients.sfn(region);
  const describe = () =>
    inCall('DescribeExecution', detail.executionArn, () =>
      sfn.send(new DescribeExecutionCommand({ executionArn: detail.executionArn })),
    );
  const redrivenSince = (execution: DescribeExecutionCommandOutput) =>
    (execution.redriveCount ?? 0) > (detail.redriveCount ?? 0) ||
    (detail.stopDate !== undefined && (execution.redriveDate?.getTime() ?? 0) > detail.stopDate);
  let execution = await describe();
  for (let read = 1; read < STALE_READS; read++) {
    const status = execution.status ?? detail.status;
    if (!GOING.has(status) && status !== 'SUCCEEDED') return { status, redriven: false };
    if (redrivenSince(execution)) return { status, redriven: true };
    await deps.clock.sleep(STALE_READ_BASE_MS * 2 ** (read - 1));
    execution = await describe();
  }
  const status = execution.status ?? detail.status;
  if (redrivenSince(execution)) return { status, redriven: true };
  return GOING.has(status) || status === 'SUCCEEDED'
    ? { status: detail.status, redriven: false }
    : { status, redriven: false };
}

/**
 * Follows `state`'s rollbacks while `watch` allows; those that ended without getting back and
 * can be redeployed over are redeployed once, and followed too.
 */
async function followRollbacks(
  deps: CleanupDeps,
  plan: Plan,
  state: RollbackState,
  watch: Watch,
): Promise<RollbackState> {
  const followed = await checkRollbacks(deps, state, watch);
  if (followed.status !== 'REDEPLOY') return followed;
  return checkRollbacks(deps, await redeployNotBack(deps, plan, followed), watch);
}

async function cleanUp(deps: CleanupDeps, detail: EndedExecution, watch: Watch): Promise<CleanupReport> {
  const { executionArn } = detail;
  const region = executionArn.split(':')[3];
  const { status: executionStatus, redriven } = await settledStatus(deps, detail);
  const report: CleanupReport = { executionArn, executionStatus, stoppedTasks: [], rollbacks: [] };
  if (redriven) {
    return { ...report, note: `the execution was redriven and is ${executionStatus}; nothing to clean up` };
  }

  const trace = traceRun(await historyOf(deps, region, executionArn));
  if (!trace.plan) return { ...report, note: 'the execution ended before Plan returned; it started nothing' };
  const { plan } = trace;

  report.stoppedTasks = await stopRunOf(deps, plan, executionArn, executionStatus);
  // Out only once the last wave's traffic moved: an earlier wave alone is a release half-done.
  const lastWave = trace.deploy && waveOf(trace.deploy).index === plannedWaves(plan).length - 1;
  if (
    trace.deploy &&
    lastWave &&
    (trace.deploy.status === 'SUCCEEDED' || (await everyDeploymentMoved(deps, trace.deploy)))
  ) {
    return { ...report, note: `every deployment of release ${plan.release} had succeeded; they are kept` };
  }
  // How far the run got is unknown: a later wave may have been starting.
  const rollback = await rollBack(deps, { plan, deploy: trace.deploy }, { searchLaterWaves: true });
  const followed = await followRollbacks(deps, plan, rollback, watch);
  return { ...report, rollbacks: followed.rollbacks };
}
