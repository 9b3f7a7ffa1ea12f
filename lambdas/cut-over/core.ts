import { ContinueDeploymentCommand, type DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { isErrorNamed } from '../shared/aws-errors.js';
import {
  batchGetByRegion,
  batchGetDeployments,
  type DeploymentDeps,
  DeploymentTargets,
  hasTrafficMoved,
  MISSING,
  withRegion,
} from '../shared/deployments.js';
import type { DeploymentFailure, DeploymentRef, DeployState } from '../shared/types.js';
import { waveOf, waveRefs } from '../shared/waves.js';

/** What CutOver calls: CodeDeploy, to read the wave's deployments and continue them. */
export type CutOverDeps = DeploymentDeps;

/** What CutOver does with one deployment of the wave. */
export type CutOverAction =
  /** Waits in its ready wait: ContinueDeployment READY_WAIT. */
  | 'continue'
  /** Already moving or moved its traffic (an earlier attempt, or someone else, continued it): nothing. */
  | 'none'
  /** Not ready yet: continue nothing, look again. */
  | 'wait'
  /** Failed, stopped or unknown: continue nothing, the wave fails. */
  | 'fail';

/** What a look knows of one deployment besides its info. */
export interface CutOverLook {
  /** Its ECS target Succeeded while it is in flight: traffic moved. */
  trafficMoved: boolean;
  /** Its BeforeAllowTraffic or AllowTraffic lifecycle event started: it left its ready wait. */
  pastReadyWait: boolean;
}

/**
 * What to do with one deployment of a wave that cuts over together: continue it when it waits
 * in Ready; nothing when its traffic moved or is moving (InProgress past its ready wait); fail
 * the wave when it failed, was stopped (its ready wait may have run out) or CodeDeploy does
 * not know it; wait when it is not ready yet.
 */
export function decideCutOver(info: DeploymentInfo | undefined, look: CutOverLook): CutOverAction {
  if (!info) return 'fail';
  if (info.status === 'Ready') return 'continue';
  if (hasTrafficMoved(info, look.trafficMoved)) return 'none';
  if (info.status === 'InProgress' && look.pastReadyWait) return 'none';
  if (info.status === 'Failed' || info.status === 'Stopped') return 'fail';
  return 'wait';
}

function failureOf(ref: DeploymentRef, info: DeploymentInfo | undefined, why?: string): DeploymentFailure {
  return {
    ...ref,
    status: info?.status ?? MISSING,
    reason:
      why ??
      info?.errorInformation?.message ??
      (info
        ? `deployment ${info.status?.toLowerCase()} before the cut-over`
        : `CodeDeploy did not return deployment ${ref.deploymentId}`),
  };
}

/**
 * Moves production traffic on every deployment of the wave at once, or on none: reads them
 * all first, and only when none failed and every one waits in its ready wait (or already
 * moves traffic) sends ContinueDeployment READY_WAIT to each waiting one, all in parallel.
 * A deployment that left Ready since the look is read again: moving traffic counts as
 * continued, stopped (its wait ran out) fails the wave, and the rollback undoes the others.
 * Returns the state RUNNING with `cutOverAt` set (CheckDeployments then waits for the traffic
 * to move), RUNNING without it when one is not ready yet, or FAILED naming the deployments.
 * Idempotent: a retry finds the continued deployments moving and continues nothing twice.
 */
export async function cutOver(deps: CutOverDeps, state: DeployState): Promise<DeployState> {
  const wave = waveOf(state);
  const refs = waveRefs(state).map((ref) => withRegion(deps.config, ref));
  const infos = await batchGetByRegion(deps.clients.codedeploy, refs);
  const targets = new DeploymentTargets(deps.clients.codedeploy);
  const trafficMoved = await targets.trafficMoved(
    refs.flatMap((ref) => {
      const info = infos.get(ref.deploymentId);
      return info ? [{ region: ref.region, info }] : [];
    }),
  );
  const decided = await Promise.all(
    refs.map(async (ref) => {
      const info = infos.get(ref.deploymentId);
      const moved = trafficMoved.has(ref.deploymentId);
      // Only an InProgress deployment whose traffic has not moved needs its target read.
      const pastReadyWait =
        info?.status === 'InProgress' && !moved
          ? await targets.pastReadyWait(ref.region, ref.deploymentId)
          : false;
      return { ref, info, action: decideCutOver(info, { trafficMoved: moved, pastReadyWait }) };
    }),
  );
  const failed = decided.filter((d) => d.action === 'fail');
  if (failed.length > 0) {
    return { ...state, status: 'FAILED', failures: failed.map((d) => failureOf(strip(d.ref), d.info)) };
  }
  if (decided.some((d) => d.action === 'wait')) return { ...state, status: 'RUNNING', failures: [] };

  const continued = await Promise.all(
    decided
      .filter((d) => d.action === 'continue')
      .map(async ({ ref }): Promise<DeploymentFailure | undefined> => {
        const codedeploy = deps.clients.codedeploy(ref.region);
        try {
          await codedeploy.send(
            new ContinueDeploymentCommand({
              deploymentId: ref.deploymentId,
              deploymentWaitType: 'READY_WAIT',
            }),
          );
          return undefined;
        } catch (error) {
          // Someone else may have continued it since the look: then its traffic is on its way.
          const now = isErrorNamed(error, 'DeploymentIsNotInReadyStateException')
            ? (await batchGetDeployments(codedeploy, [ref.deploymentId])).get(ref.deploymentId)
            : undefined;
          const pastReadyWait =
            now?.status === 'InProgress' ? await targets.pastReadyWait(ref.region, ref.deploymentId) : false;
          if (now && decideCutOver(now, { trafficMoved: false, pastReadyWait }) === 'none') return undefined;
          return failureOf(
            strip(ref),
            now,
            `ContinueDeployment READY_WAIT failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
          );
        }
      }),
  );
  const failures = continued.filter((failure) => failure !== undefined);
  if (failures.length > 0) return { ...state, status: 'FAILED', failures };
  return {
    ...state,
    status: 'RUNNING',
    failures: [],
    wave: state.wave && { ...wave, cutOverAt: new Date(deps.clock.nowMs()).toISOString() },
  };
}

function strip({ region: _region, ...ref }: DeploymentRef & { region: string }): DeploymentRef {
  return ref;
}
