import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import {
  batchGetByRegion,
  type DeploymentDeps,
  DeploymentTargets,
  deploymentVerdict,
  MISSING,
  withRegion,
} from '../shared/deployments.js';
import type { Watch } from '../shared/lambda-context.js';
import { deploymentRefs } from '../shared/revisions.js';
import type { DeploymentFailure, DeploymentRef, DeployState } from '../shared/types.js';

/** Status recorded for a deployment still in flight when the deployment timeout ran out. */
export const TIMED_OUT = 'TimedOut';

/** What a look tells beyond the deployments themselves. */
export interface DeploymentsLook {
  /** Ids of the deployments whose ECS target Succeeded while they are in flight: traffic moved. */
  trafficMoved: ReadonlySet<string>;
  /** Milliseconds (as the clock counts them) each deployment has been in flight, by id. */
  elapsedMs: (info: DeploymentInfo) => number;
  /** How long a deployment may stay in flight. */
  timeoutMs: number;
}

/**
 * The run's deployments as one status: FAILED as soon as one failed or was stopped (with
 * each failure's status and CodeDeploy's message), or once one stayed in flight past the
 * deployment timeout (then every deployment still in flight is named); SUCCEEDED once traffic
 * moved on every one (it succeeded, or only waits to terminate its original tasks), RUNNING
 * otherwise. A deployment CodeDeploy no longer knows counts as failed: nothing can say it got there.
 */
export function aggregateDeployments(
  refs: readonly DeploymentRef[],
  infos: ReadonlyMap<string, DeploymentInfo>,
  look: DeploymentsLook,
): Pick<DeployState, 'status' | 'failures'> {
  const failures: DeploymentFailure[] = [];
  const inFlight: Array<{ ref: DeploymentRef; info: DeploymentInfo }> = [];
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
    const verdict = deploymentVerdict(info, look.trafficMoved.has(ref.deploymentId));
    if (verdict === 'FAILED') {
      failures.push({
        ...ref,
        status: info.status ?? 'Unknown',
        reason: info.errorInformation?.message ?? `deployment ${info.status?.toLowerCase() ?? 'ended'}`,
      });
    }
    if (verdict === 'RUNNING') inFlight.push({ ref, info });
  }
  if (failures.length > 0) return { status: 'FAILED', failures };
  if (inFlight.some(({ info }) => look.elapsedMs(info) > look.timeoutMs)) {
    const minutes = Math.round(look.timeoutMs / 60_000);
    const groups = inFlight.map(({ ref }) => `${ref.environment}/${ref.service}`).join(', ');
    return {
      status: 'FAILED',
      failures: inFlight.map(({ ref, info }) => ({
        ...ref,
        status: TIMED_OUT,
        reason: `the deployment timeout of ${minutes} minutes ran out with ${inFlight.length} deployment${inFlight.length === 1 ? '' : 's'} still in flight (${groups}); this one was ${info.status ?? 'in flight'}`,
      })),
    };
  }
  return { status: inFlight.length === 0 ? 'SUCCEEDED' : 'RUNNING', failures: [] };
}

/**
 * Looks at every deployment of the run (BatchGetDeployments, 25 per call, per Region; the ECS
 * target of those in flight, to see traffic moved) and, while none failed and not all
 * succeeded, sleeps `pollSeconds` and looks again as long as the watch allows; then hands the
 * state back (RUNNING) for the state machine to call again.
 */
export async function checkDeployments(
  deps: DeploymentDeps,
  state: DeployState,
  watch: Watch,
): Promise<DeployState> {
  const listed = deploymentRefs(state.deployments);
  const refs = listed.map((ref) => withRegion(deps.config, ref));
  const targets = new DeploymentTargets(deps.clients.codedeploy);
  const timeoutMs = deps.config.deploymentTimeoutSeconds * 1000;
  const elapsedMs = (info: DeploymentInfo) =>
    info.createTime ? deps.clock.elapsedMs(info.createTime.getTime()) : 0;
  const pollMs = deps.config.pollSeconds * 1000;
  for (;;) {
    const infos = await batchGetByRegion(deps.clients.codedeploy, refs);
    const trafficMoved = await targets.trafficMoved(
      refs.flatMap((ref) => {
        const info = infos.get(ref.deploymentId);
        return info ? [{ region: ref.region, info }] : [];
      }),
    );
    const aggregate = aggregateDeployments(listed, infos, { trafficMoved, elapsedMs, timeoutMs });
    if (aggregate.status !== 'RUNNING' || !watch.allows(pollMs))
      return { deployments: state.deployments, ...aggregate };
    await deps.clock.sleep(pollMs);
  }
}
