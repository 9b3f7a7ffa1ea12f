import {
  type CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import { failureOf, inCall, isErrorNamed } from '../shared/aws-errors.js';
import {
  type DeploymentDeps,
  DeploymentTargets,
  deploymentVerdict,
  MISSING,
  readDeployments,
  withRegion,
} from '../shared/deployments.js';
import { LookPauses, type Watch } from '../shared/lambda-context.js';
import type { AggregateStatus, RollbackRef, RollbackState, RollbackStatus } from '../shared/types.js';

/** One rollback after a look: the ref with what was learnt, and whether it is back, failed or still going. */
export interface SettledRollback {
  ref: RollbackRef;
  verdict: AggregateStatus;
}

/** What a look learnt about the deployments besides their infos. */
export interface RollbackLook {
  /** The deployment with this id, as BatchGetDeployments returned it. */
  lookup: (deploymentId: string) => DeploymentInfo | undefined;
  /** Ids of in-flight deployments whose ECS target Succeeded: traffic moved. */
  trafficMoved: ReadonlySet<string>;
  /** Ids of stopped or failed deployments whose traffic never reached the replacement. */
  neverShifted: ReadonlySet<string>;
  /** Ids of deployments whose read failed transiently this look: nothing is known of them. */
  unread?: ReadonlySet<string>;
}

function followRollback(
  ref: RollbackRef,
  rollback: DeploymentInfo | undefined,
  look: RollbackLook,
): SettledRollback {
  // Not visible yet: CodeDeploy has only just made it.
  if (!rollback) return { ref, verdict: 'RUNNING' };
  switch (deploymentVerdict(rollback, look.trafficMoved.has(rollback.deploymentId ?? ''))) {
    case 'SUCCEEDED':
      // Traffic is back on the previous revision; a termination wait left (which may last
      // days) only delays removing the replacement, as for the deployments themselves.
      return { ref: { ...ref, status: 'Succeeded', back: true }, verdict: 'SUCCEEDED' };
    case 'FAILED':
      return { ref: { ...ref, status: rollback.status, back: false }, verdict: 'FAILED' };
    default:
      return { ref, verdict: 'RUNNING' };
  }
}

/**
 * Where one rollback stands, given what a look learnt. StopDeployment only answers Pending:
 * the deployment turns Stopped, and names its rollback deployment in `rollbackInfo`, later
 * (https://github.com/kayac/ecspresso/blob/main/rollback.go waits for both). So a stop is
 * in flight until then, and is followed once the rollback shows; stopped without one is back
 * only when traffic never reached the replacement (its target says so). A stop that came too
 * late (the deployment succeeded) leaves the new revision serving: that rollback failed.
 */
export function settleRollback(ref: RollbackRef, look: RollbackLook): SettledRollback {
  const { lookup } = look;
  // A deployment CodeDeploy does not know cannot be said to be back.
  if (ref.action === 'none') {
    const back = ref.status !== MISSING;
    return { ref: { ...ref, back }, verdict: back ? 'SUCCEEDED' : 'FAILED' };
  }
  // A read that failed tells nothing: the rollback stands where it was.
  const unread = [ref.deploymentId, ref.rollbackDeploymentId].some((id) => id && look.unread?.has(id));
  if (unread) return { ref, verdict: 'RUNNING' };
  if (ref.rollbackDeploymentId) return followRollback(ref, lookup(ref.rollbackDeploymentId), look);
  if (ref.action !== 'stop') return { ref: { ...ref, status: MISSING, back: false }, verdict: 'FAILED' };

  const original = lookup(ref.deploymentId);
  if (!original) return { ref: { ...ref, status: MISSING, back: false }, verdict: 'FAILED' };
  const rollbackDeploymentId = original.rollbackInfo?.rollbackDeploymentId;
  if (rollbackDeploymentId && look.unread?.has(rollbackDeploymentId)) return { ref, verdict: 'RUNNING' };
  if (rollbackDeploymentId)
    return followRollback({ ...ref, rollbackDeploymentId }, lookup(rollbackDeploymentId), look);
  switch (original.status) {
    case 'Stopped':
    case 'Failed':
      // Its rollback may still be on its way; without traffic on the replacement, none is needed.
      if (!look.neverShifted.has(ref.deploymentId)) return { ref, verdict: 'RUNNING' };
      return { ref: { ...ref, status: original.status, back: true }, verdict: 'SUCCEEDED' };
    case 'Succeeded':
      return { ref: { ...ref, status: 'Succeeded', back: false }, verdict: 'FAILED' };
    default:
      return { ref, verdict: 'RUNNING' };
  }
}

/**
 * Whether a deployment of the previous revision can still bring back a group whose rollback
 * ended without getting back: the stop came too late (the deployment succeeded) or CodeDeploy's
 * rollback deployment failed or was stopped. This release's own redeploy is not tried twice,
 * and a deployment CodeDeploy does not know cannot be redeployed over.
 */
export function redeployable(ref: RollbackRef): boolean {
  return ref.back === false && ref.status !== MISSING && (ref.action === 'stop' || ref.action === 'adopt');
}

/** RUNNING while any rollback is going; then FAILED if one did not get back, else SUCCEEDED. */
export function aggregateRollbacks(settled: readonly SettledRollback[]): AggregateStatus {
  if (settled.some((s) => s.verdict === 'RUNNING')) return 'RUNNING';
  return settled.some((s) => s.verdict === 'FAILED') ? 'FAILED' : 'SUCCEEDED';
}

/**
 * Ends the ready wait of a redeploy of the previous revision: on a group with a ready wait (a wave
 * cut over together) it waits there as any deployment of the group does, and would be stopped at
 * the end of the wait; nothing waits for a rollback's cut-over. One that moved on since the look
 * is left to go on.
 */
async function continueRedeploy(codedeploy: CodeDeployClient, deploymentId: string): Promise<void> {
  try {
    await inCall('ContinueDeployment', deploymentId, () =>
      codedeploy.send(new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'READY_WAIT' })),
    );
  } catch (error) {
    if (!isErrorNamed(error, 'DeploymentIsNotInReadyStateException', 'DeploymentAlreadyCompletedException'))
      throw error;
  }
}

/** One look at every rollback; reads that fail transiently leave their rollbacks where they were. */
async function look(
  deps: DeploymentDeps,
  targets: DeploymentTargets,
  rollbacks: RollbackRef[],
): Promise<{ settled: SettledRollback[]; readAll: boolean }> {
  const located = rollbacks.map((ref) => withRegion(deps.config, ref));
  // Stops without a known rollback deployment: re-read the original to learn it.
  const originals = await readDeployments(
    deps.clients.codedeploy,
    located.filter((r) => r.action === 'stop' && !r.rollbackDeploymentId),
  );
  const rollbackIds = located.flatMap((r) => {
    const id =
      r.rollbackDeploymentId ?? originals.infos.get(r.deploymentId)?.rollbackInfo?.rollbackDeploymentId;
    return id && r.action !== 'none' ? [{ region: r.region, deploymentId: id }] : [];
  });
  const followed = await readDeployments(deps.clients.codedeploy, rollbackIds);
  await Promise.all(
    located.flatMap((r) =>
      r.action === 'redeploy' &&
      r.rollbackDeploymentId &&
      followed.infos.get(r.rollbackDeploymentId)?.status === 'Ready'
        ? [continueRedeploy(deps.clients.codedeploy(r.region), r.rollbackDeploymentId)]
        : [],
    ),
  );
  const unread = new Map([...originals.unread, ...followed.unread]);
  const lookup = (id: string) => followed.infos.get(id) ?? originals.infos.get(id);
  const trafficMoved = await targets.trafficMoved(
    rollbackIds.flatMap(({ region, deploymentId }) => {
      const info = followed.infos.get(deploymentId);
      return info ? [{ region, info }] : [];
    }),
    unread,
  );
  // Stopped or failed without a rollback named: did traffic ever reach the replacement?
  const ended = located.filter((r) => {
    const info = originals.infos.get(r.deploymentId);
    return (
      r.action === 'stop' &&
      !r.rollbackDeploymentId &&
      !info?.rollbackInfo?.rollbackDeploymentId &&
      (info?.status === 'Stopped' || info?.status === 'Failed')
    );
  });
  const reached = await Promise.all(ended.map((r) => targets.trafficReached(r.region, r.deploymentId)));
  const neverShifted = new Set(ended.filter((_, i) => !reached[i]).map((r) => r.deploymentId));
  const unreadIds = new Set(unread.keys());
  return {
    settled: rollbacks.map((ref) =>
      settleRollback(ref, { lookup, trafficMoved, neverShifted, unread: unreadIds }),
    ),
    readAll: unread.size === 0,
  };
}

/**
 * Follows every rollback of the run to a terminal status (BatchGetDeployments, 25 per call,
 * per Region), pausing `pollSeconds` between looks as long as the watch allows; each ref gets
 * its `status` once known. Returns early once all are terminal: REDEPLOY instead of FAILED when
 * each one that did not get back is `redeployable`. A read that fails transiently
 * (throttling, a server error) decides nothing: its rollbacks stay where they were and the check
 * backs off. Any other read error fails the check, naming the call.
 */
export async function checkRollbacks(
  deps: DeploymentDeps,
  state: RollbackState,
  watch: Watch,
): Promise<RollbackState> {
  let rollbacks = state.rollbacks;
  const targets = new DeploymentTargets(deps.clients.codedeploy);
  const pauses = new LookPauses(deps.config.pollSeconds * 1000);
  for (;;) {
    let looked: Awaited<ReturnType<typeof look>>;
    try {
      looked = await look(deps, targets, rollbacks);
    } catch (error) {
      throw failureOf(error, 'AwaitRollbacks', 'nothing was decided');
    }
    rollbacks = looked.settled.map((s) => s.ref);
    const aggregate = aggregateRollbacks(looked.settled);
    const status: RollbackStatus =
      aggregate === 'FAILED' && rollbacks.some(redeployable) ? 'REDEPLOY' : aggregate;
    const pauseMs = status === 'RUNNING' ? pauses.within(watch, looked.readAll) : undefined;
    if (pauseMs === undefined) return { ...state, rollbacks, status };
    await deps.clock.sleep(pauseMs);
  }
}
