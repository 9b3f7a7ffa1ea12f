import { parseMarker } from '../../lambdas/shared/markers.js';
import { DEFAULT_ECS_CONFIG } from './deployment-configs.js';
import type { BlueGreenLifecycle, LifecycleDeps } from './lifecycle.js';
import type { Deployment, LifecycleEvent } from './records.js';

/**
 * How long StopDeployment takes to show (scaled): CodeDeploy answers `Pending` and reports
 * the deployment Stopped, and then its rollback, some time later.
 */
export const STOP_SETTLE_MS = 10_000;
/** Between Stopped and the rollback deployment being recorded in `rollbackInfo` (scaled). */
export const ROLLBACK_RECORD_MS = 5_000;
/** However high the time scale, a poller can see a stop or a rollback in flight for this long (real). */
const SETTLE_FLOOR_REAL_MS = 200;
/** How long a rollback takes to reroute traffic (scaled): long enough for a poller to see it in flight. */
const ROLLBACK_REROUTE_MS = 5_000;

/** The events a rollback goes through: the original task set is there already, traffic comes back to it. */
const ROLLBACK_EVENTS: ReadonlySet<LifecycleEvent> = new Set([
  'BeforeAllowTraffic',
  'AllowTraffic',
  'AfterAllowTraffic',
]);

/** Makes a deployment record for a rollback CodeDeploy starts; the model stores and lists it. */
export type RecordRollback = (trigger: Deployment, message: string) => Deployment;

/**
 * Rollbacks as CodeDeploy makes them: a deployment of its own (creator `codeDeployRollback`,
 * ECSAllAtOnce) that routes traffic back to the original task set and removes the replacement.
 */
export class Rollbacks {
  constructor(
    private readonly lifecycle: BlueGreenLifecycle,
    private readonly deps: LifecycleDeps,
    private readonly record: RecordRollback,
  ) {}

  /** The fields every rollback deployment has. */
  static fieldsOf(trigger: Deployment, message: string) {
    return {
      creator: 'codeDeployRollback' as const,
      deploymentConfigName: DEFAULT_ECS_CONFIG,
      // No description: the marker of the deployment it undoes must keep naming that one only.
      description: undefined,
      revision: trigger.previousRevision ?? trigger.revision,
      spec: trigger.spec,
      autoRollback: { enabled: false, events: [] },
      rollbackInfo: { rollbackTriggeringDeploymentId: trigger.deploymentId, rollbackMessage: message },
    };
  }

  /**
   * What follows StopDeployment: once the lifecycle has left, the deployment turns Stopped;
   * with `rollback`, the rollback deployment is recorded in `rollbackInfo` a little later;
   * without, a replacement that never got traffic is removed.
   */
  settleStop(d: Deployment, rollback: boolean): void {
    const lifecycleLeft = d.done;
    d.done = (async () => {
      await lifecycleLeft;
      await this.lifecycle.pause(STOP_SETTLE_MS, SETTLE_FLOOR_REAL_MS);
      this.lifecycle.finish(d, 'Stopped', {
        code: 'MANUAL_STOP',
        message: 'The deployment was stopped by StopDeployment.',
      });
      if (!rollback) {
        await this.lifecycle.removeReplacement(d);
        return;
      }
      await this.lifecycle.pause(ROLLBACK_RECORD_MS, SETTLE_FLOOR_REAL_MS);
      if (this.lifecycle.isShuttingDown) return;
      const started = this.start(d, `Automatic rollback triggered by StopDeployment on ${d.deploymentId}.`);
      await started.done;
    })();
  }

  /**
   * Starts the rollback of `trigger` (which has ended) and records it in the trigger's
   * `rollbackInfo`; it reroutes once `triggerLeft` settled. Returns the rollback deployment.
   */
  start(trigger: Deployment, message: string, triggerLeft: Promise<void> = Promise.resolve()): Deployment {
    const rollback = this.record(trigger, message);
    trigger.rollbackInfo = { rollbackDeploymentId: rollback.deploymentId, rollbackMessage: message };
    this.lifecycle.launch(rollback, async () => {
      // A failed lifecycle may still be inside an ECS call; reroute only once it has left.
      await triggerLeft;
      rollback.status = 'InProgress';
      rollback.startTimeMs = this.deps.clock.nowMs();
      for (const event of rollback.target.events) {
        if (!ROLLBACK_EVENTS.has(event.name)) event.status = 'Skipped';
      }
      this.lifecycle.startEvent(rollback, 'BeforeAllowTraffic');
      this.lifecycle.endEvent(rollback, 'BeforeAllowTraffic');
      this.lifecycle.startEvent(rollback, 'AllowTraffic');
      await this.lifecycle.waitFor(rollback, () => false, ROLLBACK_REROUTE_MS);
      const [{ serviceName, clusterName }] = trigger.group.ecsServices;
      const { ecs } = this.deps;
      const marker = parseMarker(trigger.description);
      const failure = marker
        ? this.deps.faults.take(
            'rollback-failure',
            (fault) => fault.environment === marker.environment && fault.service === marker.service,
          )
        : undefined;
      try {
        if (failure) {
          throw new Error(
            `the original task set is gone (fault rollback-failure injected for ${failure.environment}/${failure.service})`,
          );
        }
        if (trigger.replacementWeight > 0 && trigger.originalTaskSetId) {
          await ecs.setPrimaryTaskSet(rollback.region, clusterName, serviceName, trigger.originalTaskSetId);
          rollback.messages.push('Traffic rerouted to the original task set');
        }
        if (trigger.replacementTaskSetId) {
          await ecs.deleteTaskSet(rollback.region, clusterName, serviceName, trigger.replacementTaskSetId);
          rollback.messages.push('Replacement task set removed');
        }
        this.lifecycle.endEvent(rollback, 'AllowTraffic');
        this.lifecycle.startEvent(rollback, 'AfterAllowTraffic');
        this.lifecycle.endEvent(rollback, 'AfterAllowTraffic');
        this.lifecycle.finish(rollback, 'Succeeded');
      } catch (error) {
        this.lifecycle.fail(
          rollback,
          'ECS_UPDATE_ERROR',
          `The rollback could not restore the original task set: ${(error as Error).message}`,
        );
      }
    });
    return rollback;
  }
}
