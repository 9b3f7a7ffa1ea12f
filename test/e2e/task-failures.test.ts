import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  deploymentsOf,
  executionHistory,
  releaseNameAt,
  setMigrationDelay,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { TAGS } from '../../lambdas/shared/markers.js';
import { announcementsOf, describeTasks, GROUPS, stateAfter, useSampleAws } from './harness.js';

const tagOf = (task: { tags?: Array<{ key?: string; value?: string }> }, key: string) =>
  task.tags?.find((tag) => tag.key === key)?.value;

describe('a task phase that fails', () => {
  const aws = useSampleAws();

  it('migration exits 1 in eu: the siblings are stopped, nothing is deployed, the run fails naming eu and the exit code', async () => {
    // Slow migrations keep us and au busy when eu fails, so there is something to stop.
    for (const environment of DEMO_ENVIRONMENTS)
      await setMigrationDelay(aws().clients.ecs, environment, 3000);
    aws().local.faults.add({
      kind: 'task-exit',
      environment: 'eu',
      step: 'migrate',
      exitCode: 1,
      afterMs: 50,
    });
    const release = releaseNameAt(new Date(), 'e2e-migfail');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    expect(`${end.error} ${end.cause}`).toMatch(/eu/);
    expect(`${end.error} ${end.cause}`).toMatch(/exit code 1|exitCode.{0,3}1|exited 1/i);
    const events = await executionHistory(aws().clients.sfn, executionArn);
    const migrate = stateAfter(events, 'Migrate')?.migrate;
    expect(migrate?.tasks.map((task) => task.environment).sort()).toEqual([...DEMO_ENVIRONMENTS].sort());
    const tasks = await describeTasks(aws(), migrate?.tasks.map((task) => task.taskArn) ?? []);
    const byEnvironment = new Map(tasks.map((task) => [tagOf(task, TAGS.environment), task]));
    expect(byEnvironment.get('eu')?.containers?.[0]?.exitCode).toBe(1);
    for (const sibling of ['us', 'au']) {
      const task = byEnvironment.get(sibling);
      expect(task?.lastStatus, sibling).toBe('STOPPED');
      expect(task?.stopCode, sibling).toBe('UserInitiated');
      expect(task?.containers?.[0]?.exitCode, sibling).not.toBe(0);
    }
    expect(events.some((event) => event.stateEnteredEventDetails?.name === 'Deploy')).toBe(false);
    for (const { environment, service } of GROUPS) {
      const ours = (await deploymentsOf(aws().clients.codedeploy, environment, service)).filter((d) =>
        d.description?.includes(`stepdeploy:${release}:`),
      );
      expect(ours, `${environment}/${service}`).toEqual([]);
    }
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Failed',
    ]);
  });

  it('migration task of au fails to start: the run fails naming au and the reason, nothing is deployed', async () => {
    for (const environment of DEMO_ENVIRONMENTS)
      await setMigrationDelay(aws().clients.ecs, environment, 3000);
    aws().local.faults.add({
      kind: 'task-start-failure',
      environment: 'au',
      step: 'migrate',
      reason: 'CannotPullContainerError: image not found',
    });
    const release = releaseNameAt(new Date(), 'e2e-nostart');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    expect(`${end.error} ${end.cause}`).toMatch(/au/);
    expect(`${end.error} ${end.cause}`).toMatch(/CannotPullContainerError/);
    const events = await executionHistory(aws().clients.sfn, executionArn);
    expect(events.some((event) => event.stateEnteredEventDetails?.name === 'Deploy')).toBe(false);
    const stopped =
      stateAfter(events, 'StopMigrate')?.migrate ?? stateAfter(events, 'StopMigrateAfterError')?.migrate;
    const started = (stopped?.tasks ?? []).map((task) => task.taskArn);
    for (const task of await describeTasks(aws(), started)) {
      expect(task.lastStatus, tagOf(task, TAGS.environment)).toBe('STOPPED');
    }
  });
});
