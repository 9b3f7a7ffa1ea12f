import { readdirSync } from 'node:fs';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  pollUntil,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import {
  announcementsOf,
  appliedMigrations,
  describeTasks,
  finalState,
  GROUPS,
  imageOf,
  plannedRevision,
  planOf,
  primaryRevision,
  useSampleAws,
} from './harness.js';

const MIGRATIONS = readdirSync(new URL('../../examples/demo/app/migrations', import.meta.url))
  .filter((name) => /^\d{3}-.*\.(sql|mjs)$/.test(name))
  .map((name) => name.replace(/\.(sql|mjs)$/, ''))
  .sort();

describe('a release to three environments', () => {
  const aws = useSampleAws();

  it('migrates every database, moves every service to the new revision and announces success', async () => {
    const release = releaseNameAt(new Date(), 'e2e-ok');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    const plan = await planOf(aws(), executionArn);
    for (const { environment, service } of GROUPS) {
      const revision = await primaryRevision(aws(), environment, service);
      expect(revision, `${environment}/${service}`).toBe(plannedRevision(plan, environment, service, 'next'));
      expect(revision).not.toBe(plannedRevision(plan, environment, service, 'previous'));
      expect(await imageOf(aws(), revision)).toBe(`stepdeploy-demo/app:${release}`);
    }
    for (const environment of DEMO_ENVIRONMENTS) {
      expect(appliedMigrations(aws().dataDir, environment), environment).toEqual(MIGRATIONS);
    }
    const announcements = await announcementsOf(aws(), release);
    expect(announcements.map((event) => event['detail-type'])).toEqual(['Release Succeeded']);

    // CodeDeploy keeps instanceTerminationWaitTimeStarted false for ECS; the run saw traffic
    // moved on the workers' targets (https://github.com/aws/containers-roadmap/issues/269) and
    // ended their termination wait instead of sitting through it.
    const { retire } = await finalState(aws(), executionArn);
    expect(retire?.workers.map((worker) => [worker.environment, worker.action])).toEqual(
      DEMO_ENVIRONMENTS.map((environment) => [environment, 'continue-deployment']),
    );

    // RetireOldWorkers ended the workers' termination wait: the old workers got SIGTERM,
    // which their entrypoint turned into SIGQUIT (drain). Whether the job in hand finished
    // before the (time-scaled) stopTimeout is a matter of timing, so only the signal is checked.
    for (const environment of DEMO_ENVIRONMENTS) {
      const previous = plannedRevision(plan, environment, 'worker', 'previous');
      const cluster = `stepdeploy-demo-${environment}`;
      const oldWorkers = await pollUntil(`the old ${environment} workers to stop`, async () => {
        const listed = await aws().clients.ecs.send(
          new ListTasksCommand({ cluster, desiredStatus: 'STOPPED' }),
        );
        const tasks = (await describeTasks(aws(), listed.taskArns ?? [])).filter((task) =>
          task.taskDefinitionArn?.endsWith(`/${previous}`),
        );
        return tasks.length > 0 && tasks.every((task) => task.lastStatus === 'STOPPED') ? tasks : undefined;
      });
      for (const task of oldWorkers) {
        const taskId = task.taskArn?.split('/').pop();
        const { events } = await aws().clients.logs.send(
          new GetLogEventsCommand({
            logGroupName: `/stepdeploy-demo/${environment}`,
            logStreamName: `app/app/${taskId}`,
            startFromHead: true,
          }),
        );
        const lines = events?.map((event) => event.message ?? '') ?? [];
        expect(
          lines.some((line) => line.startsWith('SIGQUIT:')),
          `${environment} old worker: ${lines}`,
        ).toBe(true);
        expect(
          lines.some((line) => line.startsWith('SIGTERM:')),
          `${environment} old worker: ${lines}`,
        ).toBe(false);
      }
    }
  });
});
