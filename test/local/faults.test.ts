import { CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Faults, parseFaults } from '../../local/faults.js';
import type { LocalAws } from '../../local/local-aws.js';
import {
  clientConfig,
  eventually,
  nodeCommand,
  startLocal,
  stopAndAssertNoProcesses,
} from './local-aws-fixture.js';

let local: LocalAws;
let ecs: ECSClient;
let logs: Awaited<ReturnType<typeof startLocal>>['logs'];

beforeEach(async () => {
  ({ local, ecs, logs } = await startLocal({ timeScale: 10 }));
  await ecs.send(new CreateClusterCommand({ clusterName: 'eu' }));
  await logs.send(new CreateLogGroupCommand({ logGroupName: '/one-off' }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'one-off',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app:1',
          command: nodeCommand("console.log('migrating'); setInterval(() => {}, 1000)"),
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/one-off', 'awslogs-stream-prefix': 'run' },
          },
        },
      ],
    }),
  );
});

afterEach(async () => {
  await stopAndAssertNoProcesses(local);
});

const control = (method: string, body?: unknown) =>
  fetch(`${local.endpoint}/_local/faults`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

const runMigration = (environment: string, step = 'migrate', clientToken?: string) =>
  ecs.send(
    new RunTaskCommand({
      cluster: 'eu',
      taskDefinition: 'one-off',
      clientToken,
      tags: [
        { key: 'stepdeploy:environment', value: environment },
        { key: 'stepdeploy:step', value: step },
      ],
    }),
  );

const stopped = (taskArn: string) =>
  eventually<Task>(async () => {
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: 'eu', tasks: [taskArn] }));
    return tasks?.[0]?.lastStatus === 'STOPPED' ? tasks[0] : undefined;
  });

describe('fault control path', () => {
  it('adds faults with POST, lists them with GET, clears them with DELETE, and rejects an invalid one naming the field', async () => {
    // Act
    const added = await control('POST', [
      { kind: 'throttle', service: 'ecs', operation: 'DescribeTasks', count: 2 },
      { kind: 'deployment-hang', environment: 'eu', service: 'web' },
    ]);
    const listed = await (await control('GET')).json();
    const invalid = await control('POST', { kind: 'task-exit', environment: 'eu' });
    const cleared = await control('DELETE');

    // Assess
    expect(added.status).toBe(200);
    expect(listed).toEqual({
      faults: [
        { kind: 'throttle', service: 'ecs', operation: 'DescribeTasks', count: 2 },
        { kind: 'deployment-hang', environment: 'eu', service: 'web' },
      ],
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { message: string }).message).toMatch(/faults\[0\]\.exitCode/);
    expect(cleared.status).toBe(200);
    expect(local.faults.list()).toEqual([]);
  });
});

describe('throttle fault', () => {
  it('answers ThrottlingException (400) to the next `count` calls of the operation, then serves it again', async () => {
    // Prepare
    local.faults.add({ kind: 'throttle', service: 'ecs', operation: 'ListClusters', count: 2 });

    // Act
    const first = ecs.send(new ListClustersCommand({}));
    await expect(first).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    const retrying = new ECSClient({ ...clientConfig(local), maxAttempts: 3, retryMode: 'standard' });
    const second = await retrying.send(new ListClustersCommand({}));

    // Assess
    expect(second.clusterArns).toEqual(['arn:aws:ecs:us-east-1:000000000000:cluster/eu']);
    expect(second.$metadata.attempts).toBe(2);
    expect(local.faults.list()).toEqual([]);
  });
});

describe('task faults', () => {
  it('kills the task of the matching environment and step after afterMs and reports the fault exit code, logging it', async () => {
    // Prepare
    local.faults.add({ kind: 'task-exit', environment: 'eu', step: 'migrate', exitCode: 2, afterMs: 1_000 });

    // Act
    const hit = await runMigration('eu');
    const other = await runMigration('us');
    const task = await stopped(hit.tasks?.[0]?.taskArn as string);
    const { tasks } = await ecs.send(
      new DescribeTasksCommand({ cluster: 'eu', tasks: [other.tasks?.[0]?.taskArn as string] }),
    );
    const taskId = task.taskArn?.split('/').pop();
    const log = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/one-off',
        logStreamName: `run/app/${taskId}`,
        startFromHead: true,
      }),
    );

    // Assess
    expect(task).toMatchObject({ stopCode: 'EssentialContainerExited', containers: [{ exitCode: 2 }] });
    expect(tasks?.[0]?.lastStatus).toBe('RUNNING');
    expect(log.events?.map((event) => event.message)).toContainEqual(
      expect.stringMatching(/fault injected: task-exit.*exit code 2/),
    );
  });

  it('replaces the exit code of a task that ends before the fault fires, and logs it', async () => {
    // Prepare
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'quick',
        containerDefinitions: [
          {
            name: 'app',
            image: 'app:1',
            command: nodeCommand("console.log('done')"),
            logConfiguration: {
              logDriver: 'awslogs',
              options: { 'awslogs-group': '/one-off', 'awslogs-stream-prefix': 'run' },
            },
          },
        ],
      }),
    );
    local.faults.add({ kind: 'task-exit', exitCode: 9, afterMs: 3_600_000 });

    // Act
    const run = await ecs.send(new RunTaskCommand({ cluster: 'eu', taskDefinition: 'quick' }));
    const task = await stopped(run.tasks?.[0]?.taskArn as string);
    const log = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/one-off',
        logStreamName: `run/app/${task.taskArn?.split('/').pop()}`,
        startFromHead: true,
      }),
    );

    // Assess
    expect(task.containers?.[0]?.exitCode).toBe(9);
    expect(log.events?.map((event) => event.message)).toEqual([
      'done',
      '[local AWS] fault injected: task-exit, reporting exit code 9 instead of 0',
    ]);
  });

  it('answers RunTask with the fault reason in `failures` instead of starting the task', async () => {
    // Prepare
    local.faults.add({ kind: 'task-start-failure', environment: 'eu', reason: 'RESOURCE:MEMORY', count: 1 });

    // Act: the retry carries the same clientToken, as a handler's retry does.
    const failed = await runMigration('eu', 'migrate', 'token-eu');
    const retried = await runMigration('eu', 'migrate', 'token-eu');

    // Assess
    expect(failed.tasks).toEqual([]);
    expect(failed.failures).toMatchObject([{ reason: 'RESOURCE:MEMORY' }]);
    expect(retried.tasks).toHaveLength(1);
    expect(local.ecs.allTasks()).toHaveLength(1);
  });
});

describe('describe-lag fault', () => {
  // DescribeTasks is eventually consistent: a task RunTask just started may not show yet
  // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, "eventual consistency").
  it('answers a task MISSING within lagMs of RunTask, one answer per count, then shows it', async () => {
    // Prepare
    local.faults.add(parseFaults({ kind: 'describe-lag', service: 'ecs', lagMs: 600_000, count: 1 }));
    const { tasks } = await runMigration('eu');
    const taskArn = tasks?.[0]?.taskArn as string;

    // Act
    const lagging = await ecs.send(new DescribeTasksCommand({ cluster: 'eu', tasks: [taskArn] }));
    const caughtUp = await ecs.send(new DescribeTasksCommand({ cluster: 'eu', tasks: [taskArn] }));

    // Assess
    expect(lagging.tasks).toEqual([]);
    expect(lagging.failures).toEqual([{ arn: taskArn, reason: 'MISSING' }]);
    expect(caughtUp.tasks?.map((task) => task.taskArn)).toEqual([taskArn]);
    expect(local.faults.list()).toEqual([]);
  });

  it('leaves a task older than lagMs alone and keeps the fault', async () => {
    // Prepare
    const { tasks } = await runMigration('eu');
    const taskArn = tasks?.[0]?.taskArn as string;
    await new Promise((resolve) => setTimeout(resolve, 200));
    local.faults.add(parseFaults({ kind: 'describe-lag', service: 'ecs', lagMs: 1, count: 1 }));

    // Act
    const described = await ecs.send(new DescribeTasksCommand({ cluster: 'eu', tasks: [taskArn] }));

    // Assess
    expect(described.tasks).toHaveLength(1);
    expect(local.faults.list()).toHaveLength(1);
  });
});

describe('Faults', () => {
  it.each([
    [{ environment: 'eu', step: 'migrate', cluster: 'eu' }, true],
    [{ environment: 'us', step: 'migrate', cluster: 'eu' }, false],
    [{ environment: 'eu', step: 'assets', cluster: 'eu' }, false],
    [{ environment: undefined, step: undefined, cluster: 'eu' }, false],
  ])('matches a task fault with environment eu and step migrate against %o: %s', (task, expected) => {
    // Prepare
    const faults = new Faults();
    faults.add(parseFaults({ kind: 'task-exit', environment: 'eu', step: 'migrate', exitCode: 1 }));

    // Act
    const fault = faults.takeTaskFault('task-exit', task);

    // Assess
    expect(fault !== undefined).toBe(expected);
  });

  it('uses up a counted fault and keeps an uncounted one', () => {
    // Prepare
    const faults = new Faults();
    faults.add([
      { kind: 'lambda-failure', verb: 'plan', count: 1 },
      { kind: 'deployment-failure', environment: 'eu', service: 'web', lifecycleEvent: 'AfterAllowTraffic' },
    ]);

    // Act
    const taken = [faults.take('lambda-failure'), faults.take('lambda-failure')];
    const deployments = [faults.take('deployment-failure'), faults.take('deployment-failure')];

    // Assess
    expect(taken.map((fault) => fault?.verb)).toEqual(['plan', undefined]);
    expect(deployments.map((fault) => fault?.lifecycleEvent)).toEqual([
      'AfterAllowTraffic',
      'AfterAllowTraffic',
    ]);
  });
});
