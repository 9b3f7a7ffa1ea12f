import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import {
  batchGetByRegion,
  type DeploymentDeps,
  deploymentVerdict,
  MISSING,
  withRegion,
} from '../shared/deployments.js';
import type { Watch } from '../shared/lambda-context.js';
import type { AggregateStatus, RollbackRef, RollbackState } from '../shared/types.js';

/** One rollback after a look: the ref with what was learnt, and whether it is back, failed or still going. */
export interface SettledRollback {
  ref: RollbackRef;
  verdict: AggregateStatus;
}

function followRollback(ref: RollbackRef, rollback: DeploymentInfo | undefined): SettledRollback {
  // Not visible yet: CodeDeploy has only just made it.
  if (!rollback) return { ref, verdict: 'RUNNING' };
  switch (deploymentVerdict(rollback)) {
    case 'SUCCEEDED':
      // Traffic is back on the previous revision; a termination wait left (which may last
      // days) only delays removing the replacement, as for the deployments themselves.
      return { ref: { ...ref, status: 'Succeeded' }, verdict: 'SUCCEEDED' };
    case 'FAILED':
      return { ref: { ...ref, status: rollback.status }, verdict: 'FAILED' };
    default:
      return { ref, verdict: 'RUNNING' };
  }
}

/**
 * Where one rollback stands, given the deployments looked up by id. A stopped deployment
 * names its rollback deployment in `rollbackInfo` once CodeDeploy made one; stopped without
 * one means no traffic had moved, so the original tasks still serve. A stop that came too
 * late (the deployment succeeded) leaves the new revision serving: that rollback failed.
 */
export function settleRollback(
  ref: RollbackRef,
  lookup: (deploymentId: string) => DeploymentInfo | undefined,
): SettledRollback {
  // A deployment CodeDeploy does not know cannot be said to be back.
  if (ref.action === 'none') return { ref, verdict: ref.status === MISSING ? 'FAILED' : 'SUCCEEDED' };
  if (ref.rollbackDeploymentId) return followRollback(ref, lookup(ref.rollbackDeploymentId));
  if (ref.action !== 'stop') return { ref: { ...ref, status: MISSING }, verdict: 'FAILED' };

  const original = lookup(ref.deploymentId);
  if (!original) return { ref: { ...ref, status: MISSING }, verdict: 'FAILED' };
  const rollbackDeploymentId = original.rollbackInfo?.rollbackDeploymentId;
  if (rollbackDeploymentId)
    return followRollback({ ...ref, rollbackDeploymentId }, lookup(rollbackDeploymentId));
  switch (original.status) {
    case 'Stopped':
    case 'Failed':
      return { ref: { ...ref, status: original.status }, verdict: 'SUCCEEDED' };
    case 'Succeeded':
      return { ref: { ...ref, status: 'Succeeded' }, verdict: 'FAILED' };
    default:
      return { ref, verdict: 'RUNNING' };
  }
}

/** RUNNING while any rollback is going; then FAILED if one did not get back, else SUCCEEDED. */
export function aggregateRollbacks(settled: readonly SettledRollback[]): AggregateStatus {
  if (settled.some((s) => s.verdict === 'RUNNING')) return 'RUNNING';
  return settled.some((s) => s.verdict === 'FAILED') ? 'FAILED' : 'SUCCEEDED';
}

async function look(deps: DeploymentDeps, rollbacks: RollbackRef[]): Promise<SettledRollback[]> {
  const located = rollbacks.map((ref) => withRegion(deps.config, ref));
  // Stops without a known rollback deployment: re-read the original to learn it.
  const originals = await batchGetByRegion(
    deps.clients.codedeploy,
    located.filter((r) => r.action === 'stop' && !r.rollbackDeploymentId),
  );
  const rollbackIds = located.flatMap((r) => {
    const id = r.rollbackDeploymentId ?? originals.get(r.deploymentId)?.rollbackInfo?.rollbackDeploymentId;
    return id && r.action !== 'none' ? [{ region: r.region, deploymentId: id }] : [];
  });
  const followed = await batchGetByRegion(deps.clients.codedeploy, rollbackIds);
  const lookup = (id: string) => followed.get(id) ?? originals.get(id);
  return rollbacks.map((ref) => settleRollback(ref, lookup));
}

/**
 * Follows every rollback of the run to a terminal status (BatchGetDeployments, 25 per call,
 * per Region), sleeping `pollSeconds` between looks as long as the watch allows; each ref gets
 * its `status` once known. Returns early once all are terminal.
 */
export async function checkRollbacks(
  deps: DeploymentDeps,
  state: RollbackState,
  watch: Watch,
): Promise<RollbackState> {
  let rollbacks = state.rollbacks;
  const pollMs = deps.config.pollSeconds * 1000;
  for (;;) {
    const settled = await look(deps, rollbacks);
    rollbacks = settled.map((s) => s.ref);
    const status = aggregateRollbacks(settled);
    if (status !== 'RUNNING' || !watch.allows(pollMs)) return { rollbacks, status };
    await deps.clock.sleep(pollMs);
  }
}
