import { ContinueDeploymentCommand, type DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { failureOf, inCall, isErrorNamed } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import {
  batchGetByRegion,
  type DeploymentDeps,
  DeploymentTargets,
  inTerminationWait,
  plannedServices,
} from '../shared/deployments.js';
import { RetireFailedError } from '../shared/errors.js';
import { rejectionSummary } from '../shared/rejections.js';
import type { RetireReport } from '../shared/types.js';
import { waveOf } from '../shared/waves.js';
import type { RetireRun } from './schema.js';

/** What RetireOldWorkers calls: CodeDeploy only, to end termination waits. */
export type RetireDeps = DeploymentDeps;

type WorkerReport = RetireReport['workers'][number];

/** What to do for one worker's deployment: end its termination wait, or nothing (and why). */
export function decideRetire(
  info: DeploymentInfo | undefined,
  trafficMoved: boolean,
): Pick<WorkerReport, 'action' | 'reason'> {
  if (!info) return { action: 'none', reason: 'CodeDeploy did not return the deployment' };
  if (info.status === 'Succeeded') {
    return {
      action: 'none',
      reason: 'the deployment already succeeded: CodeDeploy terminated the original tasks',
    };
  }
  if (inTerminationWait(info, trafficMoved)) {
    return { action: 'continue-deployment', reason: 'traffic moved; the termination wait was ended' };
  }
  return {
    action: 'none',
    reason: `the deployment is ${info.status ?? 'in an unknown status'}, traffic not moved`,
  };
}

/**
 * Retires the old tasks of every `worker` service of the current wave once its traffic moved, through
 * CodeDeploy only: where the deployment keeps the original task set in its termination wait
 * (traffic moved: its ECS target Succeeded while it is InProgress), it ends the wait
 * (ContinueDeployment TERMINATION_WAIT) and CodeDeploy stops the original tasks now; their
 * stop signal and stopTimeout decide how gracefully they drain. Stopping the tasks directly
 * would not do: the service scheduler replaces a stopped service task. Every worker is
 * attempted; one that could not be retired fails with `RetireFailedError` (the release stands).
 * The report keeps what was done for the earlier waves' workers (`run.retire`) and adds the
 * current wave's, so the old workers of a wave stop before it bakes and the next wave goes out.
 */
export async function retireOldWorkers(deps: RetireDeps, run: RetireRun): Promise<RetireReport> {
  const { plan } = run;
  const wave = run.deploy ? new Set(waveOf(run.deploy).environments) : undefined;
  const planned = plannedServices(deps.config, plan).filter((p) => p.service.role === 'worker');
  const workers = planned.filter((p) => wave === undefined || wave.has(p.environment.name));
  const refs = workers.flatMap((w) => {
    const deploymentId = run.deploy?.deployments[w.environment.name]?.[w.service.name];
    return deploymentId ? [{ region: w.environment.region, deploymentId }] : [];
  });
  let infos: Map<string, DeploymentInfo>;
  let trafficMoved: Set<string>;
  try {
    infos = await batchGetByRegion(deps.clients.codedeploy, refs);
    trafficMoved = await new DeploymentTargets(deps.clients.codedeploy).trafficMoved(
      refs.flatMap(({ region, deploymentId }) => {
        const info = infos.get(deploymentId);
        return info ? [{ region, info }] : [];
      }),
    );
  } catch (error) {
    throw failureOf(error, 'RetireOldWorkers', 'no termination wait was ended yet');
  }

  const results = await Promise.allSettled(
    workers.map(async (worker): Promise<WorkerReport> => {
      const report = { environment: worker.environment.name, service: worker.service.name };
      const deploymentId = run.deploy?.deployments[report.environment]?.[report.service];
      if (!deploymentId) return { ...report, action: 'none', reason: 'the run made no deployment for it' };
      const decision = decideRetire(infos.get(deploymentId), trafficMoved.has(deploymentId));
      if (decision.action === 'continue-deployment') {
        try {
          await inCall(
            'ContinueDeployment',
            `${report.environment}/${report.service} (${deploymentId})`,
            () =>
              deps.clients
                .codedeploy(worker.environment.region)
                .send(
                  new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'TERMINATION_WAIT' }),
                ),
          );
        } catch (error) {
          // It finished between the look and the call: CodeDeploy terminated the originals itself.
          if (!isErrorNamed(error, 'DeploymentAlreadyCompletedException')) throw error;
          return { ...report, deploymentId, action: 'none', reason: 'the deployment succeeded meanwhile' };
        }
      }
      return { ...report, deploymentId, ...decision };
    }),
  );

  const failed = rejectionSummary(
    results,
    workers,
    (worker) =>
      `${worker.environment.name}/${worker.service.name} (deployment group ${worker.service.deploymentGroup})`,
  );
  if (failed?.allTransient) {
    const ended = results.flatMap((r) =>
      r.status === 'fulfilled' && r.value.action === 'continue-deployment'
        ? [`${r.value.environment}/${r.value.service}`]
        : [],
    );
    const all = failed.count > 1 ? `all that failed: ${failed.what}; ` : '';
    throw failureOf(
      failed.cause,
      'RetireOldWorkers',
      `${all}termination waits already ended: ${listSome(ended) || 'none'}`,
    );
  }
  if (failed) {
    throw new RetireFailedError(
      `Release ${plan.release} is deployed but old workers were not all retired: ${failed.what}. They stop when their deployment's termination wait ends; end it sooner with \`aws deploy continue-deployment --deployment-wait-type TERMINATION_WAIT\`.`,
      { cause: failed.cause },
    );
  }
  const current = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const key = (w: { environment: string; service: string }) => `${w.environment}/${w.service}`;
  const reported = new Map([...(run.retire?.workers ?? []), ...current].map((w) => [key(w), w]));
  // In the plan's order, each worker as the latest wave that reached it reported it.
  return {
    workers: planned.flatMap((p) => {
      const report = reported.get(key({ environment: p.environment.name, service: p.service.name }));
      return report ? [report] : [];
    }),
  };
}
