import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import {
  batchGetByRegion,
  type DeploymentDeps,
  deploymentVerdict,
  MISSING,
  withRegion,
} from '../shared/deployments.js';
import type { Watch } from '../shared/lambda-context.js';
import { deploymentRefs } from '../shared/revisions.js';
import type { DeploymentFailure, DeploymentRef, DeployState } from '../shared/types.js';

/**
 * The run's deployments as one status: FAILED as soon as one failed or was stopped (with
 * each failure's status and CodeDeploy's message), SUCCEEDED once every one succeeded or
 * only waits to terminate its original tasks, RUNNING otherwise. A deployment CodeDeploy
 * no longer knows counts as failed: nothing can say it got there.
 */
export function aggregateDeployments(
  refs: readonly DeploymentRef[],
  infos: ReadonlyMap<string, DeploymentInfo>,
): Pick<DeployState, 'status' | 'failures'> {
  const failures: DeploymentFailure[] = [];
  let allSucceeded = true;
  for (const ref of refs) {
    const info = infos.get(ref.deploymentId);
    if (!info) {
      failures.push({
        ...ref,
        status: MISSING,
        reason: `CodeDeploy did not return deployment ${ref.deploymentId}`,
      });
      continue;
    }
    const verdict = deploymentVerdict(info);
    if (verdict === 'FAILED') {
      failures.push({
        ...ref,
        status: info.status ?? 'Unknown',
        reason: info.errorInformation?.message ?? `deployment ${info.status?.toLowerCase() ?? 'ended'}`,
      });
    }
    if (verdict !== 'SUCCEEDED') allSucceeded = false;
  }
  if (failures.length > 0) return { status: 'FAILED', failures };
  return { status: allSucceeded ? 'SUCCEEDED' : 'RUNNING', failures: [] };
}

/**
 * Looks at every deployment of the run (BatchGetDeployments, 25 per call, per Region) and,
 * while none failed and not all succeeded, sleeps `pollSeconds` and looks again as long as
 * the watch allows; then hands the state back (RUNNING) for the state machine to call again.
 */
export async function checkDeployments(
  deps: DeploymentDeps,
  state: DeployState,
  watch: Watch,
): Promise<DeployState> {
  const listed = deploymentRefs(state.deployments);
  const refs = listed.map((ref) => withRegion(deps.config, ref));
  const pollMs = deps.config.pollSeconds * 1000;
  for (;;) {
    const infos = await batchGetByRegion(deps.clients.codedeploy, refs);
    const aggregate = aggregateDeployments(listed, infos);
    if (aggregate.status !== 'RUNNING' || !watch.allows(pollMs))
      return { deployments: state.deployments, ...aggregate };
    await deps.clock.sleep(pollMs);
  }
}
