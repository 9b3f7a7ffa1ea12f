import { parseMarker } from '../../lambdas/shared/markers.js';
import type { LocalClock } from '../clock.js';
import type { Faults } from '../faults.js';
import { ecsAppSpecContent } from './appspec.js';
import { trafficStepsOf } from './deployment-configs.js';
import {
  type Deployment,
  type DeploymentStatus,
  DONE,
  Interrupted,
  LIFECYCLE_EVENTS,
  type LifecycleEvent,
  LifecycleFailure,
  type TaskSetPort,
} from './records.js';

/**
 * How long replacement tasks may take to become healthy before the Install lifecycle event
 * fails (scaled): an hour, as CodeDeploy waits for an ECS replacement task set.
 */
export const INSTALL_TIMEOUT_MS = 60 * 60_000;
/** Processes start in real time whatever the scale: the health wait lasts at least this long (real). */
const INSTALL_TIMEOUT_FLOOR_REAL_MS = 30_000;
/** Between two looks at the replacement's health (scaled). */
const HEALTH_POLL_MS = 1_000;
/** However high the scale, a polling wait looks at most this often (real): timers are not finer. */
const POLL_FLOOR_REAL_MS = 25;

/** What a lifecycle runs against. */
export interface LifecycleDeps {
  ecs: TaskSetPort;
  clock: LocalClock;
  faults: Faults;
}

/**
 * The blue/green lifecycle of one ECS deployment: replacement task set, health, ready wait,
 * traffic shifted in the configuration's steps, termination wait, original task set removed.
 * Every step reports on the deployment's target and its lifecycle events.
 */
export class BlueGreenLifecycle {
  private shuttingDown = false;
  /** Wakers of pauses that only the shutdown interrupts. */
  private readonly pauses = new Set<() => void>();

  constructor(private readonly deps: LifecycleDeps) {}

  /** True once the local AWS shuts down: lifecycles leave at their next step. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Makes every lifecycle and pause leave; `deployments` are woken. */
  shutdown(deployments: Iterable<Deployment>): void {
    this.shuttingDown = true;
    for (const d of deployments) this.wake(d);
    for (const resolve of this.pauses) resolve();
  }

  /** Wakes the lifecycle of `deployment` from its current wait. */
  wake(deployment: Deployment): void {
    for (const resolve of deployment.wake) resolve();
    deployment.wake.clear();
  }

  /** Waits `ms` of scaled time (at least `minRealMs` real); only the shutdown ends it sooner. */
  async pause(ms: number, minRealMs = 0): Promise<void> {
    if (this.shuttingDown) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(minRealMs, this.deps.clock.scaledMs(ms)));
      this.pauses.add(done);
    });
  }

  /** Runs `deployment`'s lifecycle after CreateDeployment has answered, as CodeDeploy's does. */
  launch(deployment: Deployment, lifecycle: () => Promise<void>): void {
    deployment.done = new Promise<void>((resolve) => setImmediate(resolve)).then(lifecycle).catch((error) => {
      if (error instanceof Interrupted) return;
      this.fail(deployment, 'INTERNAL_ERROR', `The local CodeDeploy failed: ${(error as Error).message}`);
    });
  }

  private checkInterrupted(d: Deployment): void {
    if (d.stopped || this.shuttingDown || DONE.has(d.status)) throw new Interrupted();
  }

  /**
   * Waits until `condition` holds (true), `timeoutMs` of scaled time passed (false), or the
   * deployment was stopped (throws). `pollMs` re-checks conditions nothing wakes us for;
   * `minRealMs` keeps a wait on real work (processes starting) from ending too soon at high scales.
   */
  async waitFor(
    d: Deployment,
    condition: () => boolean | Promise<boolean>,
    timeoutMs: number | undefined,
    pollMs?: number,
    minRealMs = 0,
  ): Promise<boolean> {
    const { clock } = this.deps;
    const deadline =
      timeoutMs === undefined ? undefined : clock.nowMs() + Math.max(minRealMs, clock.scaledMs(timeoutMs));
    for (;;) {
      this.checkInterrupted(d);
      if (await condition()) return true;
      const left = deadline === undefined ? undefined : deadline - clock.nowMs();
      if (left !== undefined && left <= 0) return false;
      const realWaitMs = Math.min(
        left ?? Number.POSITIVE_INFINITY,
        pollMs === undefined
          ? Number.POSITIVE_INFINITY
          : Math.max(POLL_FLOOR_REAL_MS, clock.scaledMs(pollMs)),
      );
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(realWaitMs) ? setTimeout(done, realWaitMs) : undefined;
        function done() {
          clearTimeout(timer);
          d.wake.delete(done);
          resolve();
        }
        d.wake.add(done);
      });
    }
  }

  // ---- the target and its lifecycle events ---------------------------------------------

  private touch(d: Deployment): void {
    d.target.lastUpdatedAtMs = this.deps.clock.nowMs();
  }

  /** Marks `name` InProgress on the target (and the target InProgress). */
  startEvent(d: Deployment, name: LifecycleEvent): void {
    this.checkInterrupted(d);
    const event = d.target.events.find((e) => e.name === name);
    if (event) {
      event.status = 'InProgress';
      event.startTimeMs = this.deps.clock.nowMs();
    }
    d.target.status = 'InProgress';
    this.touch(d);
  }

  /** Marks `name` Succeeded on the target. */
  endEvent(d: Deployment, name: LifecycleEvent): void {
    const event = d.target.events.find((e) => e.name === name);
    if (event) {
      event.status = 'Succeeded';
      event.endTimeMs = this.deps.clock.nowMs();
    }
    d.messages.push(`${name} succeeded`);
    this.touch(d);
  }

  /** The target of a deployment that ended without succeeding: the event under way failed, the rest skipped. */
  private endTarget(d: Deployment, error: { code: string; message: string }): void {
    const now = this.deps.clock.nowMs();
    for (const event of d.target.events) {
      if (event.status === 'InProgress') {
        event.status = 'Failed';
        event.endTimeMs = now;
        event.diagnostics = { errorCode: error.code, message: error.message };
      } else if (event.status === 'Pending') {
        event.status = 'Skipped';
      }
    }
    // Once every bit of traffic moved, the target has succeeded whatever the deployment does next.
    if (d.target.status !== 'Succeeded') d.target.status = 'Failed';
    this.touch(d);
  }

  // ---- endings -------------------------------------------------------------------------

  /** Records the end of a deployment: its status, completion time and error. */
  finish(d: Deployment, status: DeploymentStatus, error?: { code: string; message: string }): void {
    d.status = status;
    d.completeTimeMs = this.deps.clock.nowMs();
    if (status === 'Succeeded') {
      d.target.status = 'Succeeded';
      this.touch(d);
    }
    if (error) {
      d.errorInformation = error;
      d.messages.push(error.message);
      this.endTarget(d, error);
    }
  }

  /** Ends a deployment Failed unless it already ended. */
  fail(d: Deployment, code: string, message: string): void {
    if (!DONE.has(d.status)) this.finish(d, 'Failed', { code, message });
  }

  /** Without a rollback, the original tasks keep serving: a replacement that never got traffic goes. */
  async removeReplacement(d: Deployment): Promise<void> {
    if (this.shuttingDown || d.replacementWeight > 0 || !d.replacementTaskSetId) return;
    const [{ serviceName, clusterName }] = d.group.ecsServices;
    await this.deps.ecs.deleteTaskSet(d.region, clusterName, serviceName, d.replacementTaskSetId);
  }

  // ---- the lifecycle -------------------------------------------------------------------

  private faultsOf(d: Deployment) {
    const marker = parseMarker(d.description);
    // Faults aim at the release's own deployments; rollbacks must still be able to repair.
    if (!marker || marker.rollback || d.creator === 'codeDeployRollback') return {};
    const matches = (fault: { environment: string; service: string }) =>
      fault.environment === marker.environment && fault.service === marker.service;
    return {
      failure: this.deps.faults.take('deployment-failure', matches),
      hang: this.deps.faults.take('deployment-hang', matches),
    };
  }

  /**
   * Runs a user deployment from Created to Succeeded. A failure ends it Failed (and, when the
   * deployment's auto-rollback covers failures, `onFailure` starts the rollback); a stop or
   * the shutdown leaves it where StopDeployment puts it.
   */
  async run(d: Deployment, onFailure: (d: Deployment, message: string) => Promise<void>): Promise<void> {
    const faults = this.faultsOf(d);
    if (faults.failure && !(LIFECYCLE_EVENTS as readonly string[]).includes(faults.failure.lifecycleEvent)) {
      this.fail(
        d,
        'INTERNAL_ERROR',
        `The deployment-failure fault names lifecycle event ${faults.failure.lifecycleEvent}, which ECS deployments do not have; use one of ${LIFECYCLE_EVENTS.join(', ')}.`,
      );
      return;
    }
    const injected = (event: LifecycleEvent) => {
      if (faults.failure?.lifecycleEvent !== event) return;
      const code =
        event === 'Install'
          ? 'ECS_UPDATE_ERROR'
          : event.startsWith('Allow')
            ? 'ELB_INVALID_INSTANCE'
            : 'HOOK_EXECUTION_FAILURE';
      throw new LifecycleFailure(
        code,
        `The deployment failed at lifecycle event ${event} (fault deployment-failure injected for ${faults.failure.environment}/${faults.failure.service}).`,
        event,
      );
    };
    const step = (event: LifecycleEvent) => {
      this.startEvent(d, event);
      injected(event);
      this.endEvent(d, event);
    };

    try {
      this.checkInterrupted(d);
      d.status = 'InProgress';
      d.startTimeMs = this.deps.clock.nowMs();
      step('BeforeInstall');
      this.startEvent(d, 'Install');
      await this.install(d, faults.hang !== undefined);
      injected('Install');
      this.endEvent(d, 'Install');
      step('AfterInstall');
      step('AllowTestTraffic');
      step('AfterAllowTestTraffic');
      if (!(await this.readyWait(d))) return;
      step('BeforeAllowTraffic');
      this.startEvent(d, 'AllowTraffic');
      await this.shiftTraffic(d);
      injected('AllowTraffic');
      this.endEvent(d, 'AllowTraffic');
      step('AfterAllowTraffic');
      await this.terminationWait(d);
      this.finish(d, 'Succeeded');
    } catch (error) {
      if (error instanceof Interrupted) return;
      const failure =
        error instanceof LifecycleFailure
          ? error
          : new LifecycleFailure(
              'INTERNAL_ERROR',
              `The local CodeDeploy failed: ${(error as Error).message}`,
            );
      this.fail(d, failure.code, failure.message);
      await onFailure(d, failure.message);
    }
  }

  /** Install: the replacement task set, up and healthy within the Install timeout. */
  private async install(d: Deployment, hang: boolean): Promise<void> {
    const { ecs } = this.deps;
    const [{ serviceName, clusterName }] = d.group.ecsServices;
    const original = ecs.primaryTaskSet(d.region, clusterName, serviceName);
    d.originalTaskSetId = original?.id;
    if (original) {
      d.previousRevision = {
        revisionType: 'AppSpecContent',
        appSpecContent: {
          content: ecsAppSpecContent({ ...d.spec, taskDefinition: original.taskDefinition }),
        },
      };
    }
    try {
      d.replacementTaskSetId = await ecs.createTaskSet(
        d.region,
        clusterName,
        serviceName,
        d.spec.taskDefinition,
        d.deploymentId,
      );
    } catch (error) {
      if (error instanceof Interrupted) throw error;
      throw new LifecycleFailure(
        'ECS_UPDATE_ERROR',
        `The replacement task set of ${d.spec.taskDefinition} could not be created on service ${serviceName} (cluster ${clusterName}): ${(error as Error).message}`,
        'Install',
      );
    }
    const replacement = d.replacementTaskSetId;
    // A hanging replacement never answers its health check, so the Install timeout fails it.
    const healthy = async () =>
      !hang && (await ecs.isTaskSetHealthy(d.region, clusterName, serviceName, replacement));
    if (
      !(await this.waitFor(d, healthy, INSTALL_TIMEOUT_MS, HEALTH_POLL_MS, INSTALL_TIMEOUT_FLOOR_REAL_MS))
    ) {
      throw new LifecycleFailure(
        'ECS_UPDATE_ERROR',
        `The replacement tasks of ${d.spec.taskDefinition} on service ${serviceName} did not become healthy within ${INSTALL_TIMEOUT_MS / 60_000} minutes; check their logs.`,
        'Install',
      );
    }
  }

  /** The ready wait of a STOP_DEPLOYMENT group: Ready until ContinueDeployment READY_WAIT or the wait ends (false: stopped). */
  private async readyWait(d: Deployment): Promise<boolean> {
    const ready = d.group.deploymentReadyOption;
    if (ready?.actionOnTimeout !== 'STOP_DEPLOYMENT') return true;
    d.status = 'Ready';
    d.target.status = 'Ready';
    this.touch(d);
    d.messages.push('Waiting for ContinueDeployment to reroute traffic');
    const continued = await this.waitFor(d, () => d.readyContinued, (ready.waitTimeInMinutes ?? 0) * 60_000);
    if (!continued) {
      d.stopped = true;
      this.finish(d, 'Stopped', {
        code: 'TIMEOUT',
        message: `Traffic was not rerouted within the ready wait of ${ready.waitTimeInMinutes ?? 0} minutes (ContinueDeployment READY_WAIT).`,
      });
      await this.removeReplacement(d);
      return false;
    }
    d.status = 'InProgress';
    d.target.status = 'InProgress';
    this.touch(d);
    return true;
  }

  /** AllowTraffic: production traffic moves in the deployment configuration's steps. */
  private async shiftTraffic(d: Deployment): Promise<void> {
    const [{ serviceName, clusterName }] = d.group.ecsServices;
    const { percentages, intervalMinutes } = trafficStepsOf(d.deploymentConfigName);
    for (const [index, percent] of percentages.entries()) {
      if (index > 0) await this.waitFor(d, () => false, intervalMinutes * 60_000);
      this.checkInterrupted(d);
      d.replacementWeight = percent;
      this.touch(d);
      if (percent === 100) {
        await this.deps.ecs.setPrimaryTaskSet(
          d.region,
          clusterName,
          serviceName,
          d.replacementTaskSetId ?? '',
        );
        d.trafficShifted = true;
      } else {
        d.messages.push(`${percent}% of production traffic rerouted to the replacement task set`);
      }
    }
  }

  /**
   * Traffic has moved: the target has succeeded while the deployment, still InProgress, keeps
   * the original task set for the termination wait (or until ContinueDeployment TERMINATION_WAIT).
   */
  private async terminationWait(d: Deployment): Promise<void> {
    d.target.status = 'Succeeded';
    this.touch(d);
    d.messages.push('Waiting to terminate the original task set');
    await this.waitFor(d, () => d.terminationContinued, (d.group.terminationWaitTimeInMinutes ?? 0) * 60_000);
    this.checkInterrupted(d);
    if (d.originalTaskSetId) {
      const [{ serviceName, clusterName }] = d.group.ecsServices;
      await this.deps.ecs.deleteTaskSet(d.region, clusterName, serviceName, d.originalTaskSetId);
    }
  }
}
