import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { alarmBreaches, watchedAlarms } from '../shared/alarms.js';
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
import type { AlarmBreach, DeploymentFailure, DeploymentRef, DeployState } from '../shared/types.js';
import { waveOf, waveRefs } from '../shared/waves.js';

/** Status recorded for a deployment still in flight when the deployment timeout ran out. */
export const TIMED_OUT = 'TimedOut';

/** What CheckDeployments calls: CodeDeploy, and CloudWatch for the wave's alarms. */
export type CheckDeploymentsDeps = DeploymentDeps<'codedeploy' | 'cloudwatch'>;

/** What a look tells beyond the deployments themselves. */
export interface DeploymentsLook {
  /** Ids of the deployments whose ECS target Succeeded while they are in flight: traffic moved. */
  trafficMoved: ReadonlySet<string>;
  /** Milliseconds (as the clock counts them) each deployment has been in flight, by id. */
  elapsedMs: (info: DeploymentInfo) => number;
  /** How long a deployment may stay in flight. */
  timeoutMs: number;
  /**
   * The wave cuts over together and CutOver has not continued it yet: a deployment waiting in
   * its ready wait counts as ready rather than in flight, and READY is an outcome.
   */
  awaitingCutOver?: boolean;
  /** Alarms of the wave's environments that went into ALARM since the wave began. */
  alarms?: readonly AlarmBreach[];
  /**
   * Ids of deployments that decide nothing this look although CodeDeploy did not return them: their
   * read failed transiently, or they were only just created (CodeDeploy may not show them yet).
   */
  undecided?: ReadonlySet<string>;
}

/** Where one deployment of the wave stands for the run. */
export type DeploymentStage = 'failed' | 'in-flight' | 'ready' | 'moved';

/**
 * One deployment's stage: `moved` once traffic moved (it succeeded, or only waits to terminate
 * its original tasks), `failed` once it failed or was stopped, `ready` while it waits in its
 * ready wait (status Ready: healthy, no production traffic), `in-flight` otherwise.
 */
export function deploymentStage(info: DeploymentInfo, trafficMoved: boolean): DeploymentStage {
  const verdict = deploymentVerdict(info, trafficMoved);
  if (verdict === 'SUCCEEDED') return 'moved';
  if (verdict === 'FAILED') return 'failed';
  return info.status === 'Ready' ? 'ready' : 'in-flight';
}

/**
 * The wave's deployments as one status. FAILED as soon as one failed or was stopped (with each
 * failure's status and CodeDeploy's message), once an alarm of the wave went into ALARM, or once
 * one stayed in flight past the deployment timeout (then every deployment still in flight is
 * named); a deployment CodeDeploy no longer knows counts as failed. Awaiting a cut-over together:
 * READY once every deployment waits in its ready wait (or already moved, as after a retried
 * CutOver), so that traffic moves on all of them or none. SUCCEEDED once traffic moved on every
 * one, RUNNING otherwise.
 */
export function aggregateDeployments(
  refs: readonly DeploymentRef[],
  infos: ReadonlyMap<string, DeploymentInfo>,
  look: DeploymentsLook,
): Pick<DeployState, 'status' | 'failures' | 'alarms'> {
  const failures: DeploymentFailure[] = [];
  const waiting: Array<{ ref: DeploymentRef; info: DeploymentInfo }> = [];
  let ready = 0;
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
    const stage = deploymentStage(info, look.trafficMoved.has(ref.deploymentId));
    if (stage === 'failed') {
      failures.push({
        ...ref,
        status: info.status ?? 'Unknown',
        reason: info.errorInformation?.message ?? `deployment ${info.status?.toLowerCase() ?? 'ended'}`,
      });
    }
    if (stage === 'in-flight' || stage === 'ready') waiting.push({ ref, info });
    if (stage === 'ready') ready += 1;
  }
  const alarms = look.alarms && look.alarms.length > 0 ? [...look.alarms] : undefined;
  if (failures.length > 0 || alarms) return { status: 'FAILED', failures, alarms };
  if (waiting.some(({ info }) => look.elapsedMs(info) > look.timeoutMs)) {
    const minutes = Math.round(look.timeoutMs / 60_000);
    const groups = waiting.map(({ ref }) => `${ref.environment}/${ref.service}`).join(', ');
    return {
      status: 'FAILED',
      failures: waiting.map(({ ref, info }) => ({
        ...ref,
        status: TIMED_OUT,
        reason: `the deployment timeout of ${minutes} minutes ran out with ${waiting.length} deployment${waiting.length === 1 ? '' : 's'} still in flight (${groups}); this one was ${info.status ?? 'in flight'}`,
      })),
    };
  }
  if (undecided > 0) return { status: 'RUNNING', failures: [] };
  if (waiting.length === 0) return { status: 'SUCCEEDED', failures: [] };
  if (look.awaitingCutOver && ready === waiting.length) return { status: 'READY', failures: [] };
  return { status: 'RUNNING', failures: [] };
}

/**
 * Looks at every deployment of the current wave (BatchGetDeployments, 25 per call, per Region;
 * the ECS target of those in flight, to see traffic moved) and at the wave's alarms since it
 * began (current state and history), and while none failed and the wave is not decided,
 * sleeps `pollSeconds` and looks again as long as the watch allows; then hands the state back
 * (RUNNING) for the state machine to call again. Once traffic moved on every deployment the
 * wave records when, for its bake. A read that fails transiently (throttling, a server error)
 * decides nothing: the check backs off and looks again. A deployment CodeDeploy does not return
 * in the first `MISSING_DEPLOYMENT_GRACE_MS` of the wave's watch is taken as not visible yet. Any
 * other read error fails the check, naming the call.
 */
export async function checkDeployments(
  deps: CheckDeploymentsDeps,
  state: DeployState,
  watch: Watch,
): Promise<DeployState> {
  const wave = waveOf(state);
  const listed = waveRefs(state);
  const refs = listed.map((ref) => withRegion(deps.config, ref));
  const targets = new DeploymentTargets(deps.clients.codedeploy);
  const watched = watchedAlarms(deps.config, wave.environments);
  const since = new Date(wave.startedAt);
  const timeoutMs = deps.config.deploymentTimeoutSeconds * 1000;
  const elapsedMs = (info: DeploymentInfo) =>
    info.createTime ? deps.clock.elapsedMs(info.createTime.getTime()) : 0;
  const awaitingCutOver = wave.cutover === 'together' && wave.cutOverAt === undefined;
  // The grace for deployments CodeDeploy does not show yet runs from the wave's first look.
  const watchedSince =
    state.watchedSince !== undefined && Date.parse(state.watchedSince) >= Date.parse(wave.startedAt)
      ? state.watchedSince
      : new Date(deps.clock.nowMs()).toISOString();
  const pauses = new LookPauses(deps.config.pollSeconds * 1000);
  let succeeded: string[] = [];
  for (;;) {
    let read: DeploymentsRead;
    let trafficMoved: Set<string>;
    let alarms: AlarmBreach[];
    try {
      [read, alarms] = await Promise.all([
        readDeployments(deps.clients.codedeploy, refs),
        watched.length > 0 ? alarmBreaches(deps.clients.cloudwatch, watched, since) : [],
      ]);
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
      awaitingCutOver,
      alarms,
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
      const decided: DeployState = {
        ...state,
        ...aggregate,
        failures: bounded.failures,
        watchedSince,
      };
      if (bounded.omitted > 0) decided.omittedFailures = bounded.omitted;
      else delete decided.omittedFailures;
      if (aggregate.alarms === undefined) delete decided.alarms;
      if (aggregate.status === 'SUCCEEDED' && state.wave && !state.wave.trafficMovedAt) {
        decided.wave = { ...state.wave, trafficMovedAt: new Date(deps.clock.nowMs()).toISOString() };
      }
      return decided;
    }
    await deps.clock.sleep(pauseMs);
  }
}
