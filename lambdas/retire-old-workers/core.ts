import { ContinueDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DescribeTasksCommand, paginateListTasks, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import {
  batchGetByRegion,
  type DeploymentDeps,
  inTerminationWait,
  type PlannedService,
  plannedServices,
} from '../shared/deployments.js';
import { chunk, DESCRIBE_TASKS_MAX, revisionOf } from '../shared/ecs-tasks.js';
import { RetireFailedError } from '../shared/errors.js';
import { rejectionSummary } from '../shared/rejections.js';
import type { Plan, RetireReport, Revision } from '../shared/types.js';
import type { RetireRun } from './schema.js';

/** What RetireOldWorkers calls: ECS to stop old worker tasks, CodeDeploy to end termination waits. */
export type RetireDeps = DeploymentDeps<'ecs' | 'codedeploy'>;

type WorkerReport = RetireReport['workers'][number];

/**
 * True for a task that still runs an old revision of a worker and has not been asked to
 * stop yet, so a retry does not stop (or count) it twice.
 */
export function isOldWorkerTask(
  task: Pick<Task, 'lastStatus' | 'desiredStatus' | 'taskDefinitionArn'>,
  next: Revision,
): boolean {
  return (
    task.lastStatus === 'RUNNING' &&
    task.desiredStatus !== 'STOPPED' &&
    task.taskDefinitionArn !== undefined &&
    revisionOf(task.taskDefinitionArn) !== revisionOf(next)
  );
}

/** The service's tasks ECS still wants running, described 100 at a time. */
async function runningTasksOf(deps: RetireDeps, { environment, service }: PlannedService): Promise<Task[]> {
  const ecs = deps.clients.ecs(environment.region);
  const arns: string[] = [];
  const listed = paginateListTasks(
    { client: ecs },
    { cluster: environment.cluster, serviceName: service.service, desiredStatus: 'RUNNING' },
  );
  for await (const page of listed) arns.push(...(page.taskArns ?? []));
  const pages = await Promise.all(
    chunk(arns, DESCRIBE_TASKS_MAX).map((tasks) =>
      ecs.send(new DescribeTasksCommand({ cluster: environment.cluster, tasks })),
    ),
  );
  return pages.flatMap((page) => page.tasks ?? []);
}

async function stopOldTasks(deps: RetireDeps, plan: Plan, worker: PlannedService): Promise<number> {
  const old = (await runningTasksOf(deps, worker)).filter((task) =>
    isOldWorkerTask(task, worker.revisions.next),
  );
  const ecs = deps.clients.ecs(worker.environment.region);
  await Promise.all(
    old.map((task) =>
      ecs.send(
        new StopTaskCommand({
          cluster: worker.environment.cluster,
          task: task.taskArn,
          reason: `stepdeploy: old worker retired by release ${plan.release}`,
        }),
      ),
    ),
  );
  return old.length;
}

/**
 * Retires the old tasks of every `worker` service once the deployments succeeded: where the
 * deployment still holds the original task set in its termination wait, it skips the wait
 * (ContinueDeployment TERMINATION_WAIT); where no deployment holds them any more, it stops
 * the service's tasks still running another revision than the plan's new one. Their stop
 * signal and stopTimeout decide how gracefully they drain. Every worker is attempted; one
 * that could not be retired fails with `RetireFailedError` (the release stands).
 */
export async function retireOldWorkers(deps: RetireDeps, run: RetireRun): Promise<RetireReport> {
  const { plan } = run;
  const workers = plannedServices(deps.config, plan).filter((p) => p.service.role === 'worker');
  const refs = workers.flatMap((w) => {
    const deploymentId = run.deploy?.deployments[w.environment.name]?.[w.service.name];
    return deploymentId
      ? [
          {
            environment: w.environment.name,
            service: w.service.name,
            deploymentId,
            region: w.environment.region,
          },
        ]
      : [];
  });
  const infos = await batchGetByRegion(deps.clients.codedeploy, refs);

  const results = await Promise.allSettled(
    workers.map(async (worker): Promise<WorkerReport> => {
      const report = { environment: worker.environment.name, service: worker.service.name };
      const ref = refs.find((r) => r.environment === report.environment && r.service === report.service);
      const info = ref && infos.get(ref.deploymentId);
      if (ref && info && inTerminationWait(info)) {
        await deps.clients.codedeploy(worker.environment.region).send(
          new ContinueDeploymentCommand({
            deploymentId: ref.deploymentId,
            deploymentWaitType: 'TERMINATION_WAIT',
          }),
        );
        return { ...report, action: 'continue-deployment', stoppedTasks: 0 };
      }
      if (!info || info.status === 'Succeeded') {
        return { ...report, action: 'stop-tasks', stoppedTasks: await stopOldTasks(deps, plan, worker) };
      }
      // Still shifting traffic: CodeDeploy owns the old tasks until it is done.
      return { ...report, action: 'none', stoppedTasks: 0 };
    }),
  );

  const failed = rejectionSummary(
    results,
    workers,
    (worker) =>
      `${worker.environment.name}/${worker.service.name} (service ${worker.service.service} on ${worker.environment.cluster})`,
  );
  if (failed) {
    throw new RetireFailedError(
      `Release ${plan.release} is deployed but old workers were not all retired: ${failed.what}. They stop when their deployment's termination wait ends; stop them by hand to retire them sooner.`,
      { cause: failed.cause },
    );
  }
  return { workers: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) };
}
