import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { failureOf, succeededSoFar } from '../shared/aws-errors.js';
import { boundFailures } from '../shared/bounds.js';
import {
  type DeploymentDeps,
  type DeploymentsRead,
  DeploymentTargets,
  deploymentVerdict,
  MISSING,
  MISSING_DEPLOYMENT_GRACE_MS,
  readDeployments,
  withRegion,
} from '../shared/deployments.js';
import { LookPauses, type Watch } from '../shared/lambda-context.js';
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
  /**
   * Ids of deployments that decide nothing this look although CodeDeploy did not return them: their
   * read failed transiently, or they were only just created (CodeDeploy may not show them yet).
   */
  undecided?: ReadonlySet<string>;
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
  let undecided = 0;
  for (const ref of refs) {
    const info = infos.get(ref.deploymentId);
    if (!info && look.undecided?.has(ref.deploymentId)) {
      undecided += 1;
      continue;
    }
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
  return { status: inFlight.length === 0 && undecided === 0 ? 'SUCCEEDED' : 'RUNNING', failures: [] };
}

/**
 * Looks at every deployment of the run (BatchGetDeployments, 25 per call, per Region; the ECS
 * target of those in flight, to see traffic moved) and, while none failed and not all
 * succeeded, pauses `pollSeconds` and looks again as long as the watch allows; then hands the
 * state back (RUNNING) for the state machine to call again. A read that fails transiently
 * (throttling, a server error) decides nothing: the check backs off and looks again. A
 * deployment CodeDeploy does not return in the first `MISSING_DEPLOYMENT_GRACE_MS` of the watch
 * is taken as not visible yet. Any other read error fails the check, naming the call.
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
  const watchedSince = state.watchedSince ?? new Date(deps.clock.nowMs()).toISOString();
  const pauses = new LookPauses(deps.config.pollSeconds * 1000);
  let succeeded: string[] = [];
  for (;;) {
    let read: DeploymentsRead;
    let trafficMoved: Set<string>;
    try {
      read = await readDeployments(deps.clients.codedeploy, refs);
      trafficMoved = await targets.trafficMoved(
        refs.flatMap((ref) => {
          const info = read.infos.get(ref.deploymentId);
          return info ? [{ region: ref.region, info }] : [];
        }),
        read.unread,
      );
    } catch (error) {
      throw failureOf(error, 'CheckDeployments', `nothing was decided; ${succeededSoFar(succeeded)}`);
    }
    const justCreated = deps.clock.elapsedMs(Date.parse(watchedSince)) < MISSING_DEPLOYMENT_GRACE_MS;
    const undecided = new Set([
      ...read.unread.keys(),
      ...(justCreated ? refs.map((ref) => ref.deploymentId).filter((id) => !read.infos.has(id)) : []),
    ]);
    const aggregate = aggregateDeployments(listed, read.infos, {
      trafficMoved,
      elapsedMs,
      timeoutMs,
      undecided,
    });
    succeeded = listed.flatMap((ref) => {
      const info = read.infos.get(ref.deploymentId);
      return info && deploymentVerdict(info, trafficMoved.has(ref.deploymentId)) === 'SUCCEEDED'
        ? [`${ref.environment}/${ref.service}`]
        : [];
    });
    const pauseMs = aggregate.status === 'RUNNING' ? pauses.within(watch, read.unread.size === 0) : undefined;
    if (pauseMs === undefined) {
      const bounded = boundFailures(aggregate.failures);
      return {
        deployments: state.deployments,
        status: aggregate.status,
        failures: bounded.failures,
        ...(bounded.omitted > 0 ? { omittedFailures: bounded.omitted } : {}),
        watchedSince,
      };
    }
    await deps.clock.sleep(pauseMs);
  }
}
