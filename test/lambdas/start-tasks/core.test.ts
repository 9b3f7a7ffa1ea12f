import {
  ConflictException,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type DescribeTasksCommandInput,
  ECSClient,
  ListTasksCommand,
  type ListTasksCommandInput,
  RunTaskCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../lambdas/shared/clients.js';
import { parseTaskFailures } from '../../../lambdas/shared/ecs-tasks.js';
import { StaleRunError, TaskFailedError } from '../../../lambdas/shared/errors.js';
import { clientTokenOf, TAGS } from '../../../lambdas/shared/markers.js';
import type { Phase } from '../../../lambdas/shared/types.js';
import { RUN_TASK_TOKEN_TTL_MS, requestChanges, startTasks } from '../../../lambdas/start-tasks/core.js';
import { EXECUTION_ARN, environment, fakeClock, taskPlan, testConfig } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const clients = createClients({ ecs: ECSClient });
const config = testConfig();

const plan = taskPlan();

const awslogs = {
  logDriver: 'awslogs' as const,
  options: { 'awslogs-group': '/stepdeploy/oneoff', 'awslogs-stream-prefix': 'oneoff' },
};

/** RunTask that starts a task named after its environment and step, as ECS would. */
function runTasksSucceed(): void {
  ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
    const env = input.tags?.find((tag) => tag.key === TAGS.environment)?.value;
    const step = input.tags?.find((tag) => tag.key === TAGS.step)?.value;
    return {
      tasks: [{ taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${input.cluster}/${env}${step}0001` }],
      failures: [],
    };
  });
}

/** Tasks ECS shows, by cluster: ListTasks and DescribeTasks answer from them. */
let shown: Task[] = [];

/** A task of this run (or of `overrides`), as DescribeTasks with TAGS describes it. */
function shownTask(
  env: string,
  step: string,
  overrides: Partial<Task> & { phase?: Phase; execution?: string } = {},
): Task {
  const { phase = 'migrate', execution = EXECUTION_ARN, ...task } = overrides;
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${env}-cluster/${env}${step}earlier`,
    clusterArn: `arn:aws:ecs:us-east-1:123456789012:cluster/${env}-cluster`,
    taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${env}-oneoff:2`,
    startedBy: plan.runId,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    createdAt: new Date('2026-11-26T07:01:00.000Z'),
    tags: [
      { key: TAGS.release, value: plan.release },
      { key: TAGS.execution, value: execution },
      { key: TAGS.environment, value: env },
      { key: TAGS.phase, value: phase },
      { key: TAGS.step, value: step },
    ],
    ...task,
  };
}

const clusterOfTask = (task: Task) => task.clusterArn?.split('/').pop();

const deps = (overrides: Partial<Parameters<typeof startTasks>[1]> = {}) => ({
  clients,
  clock: fakeClock(),
  config,
  ...overrides,
});

describe('startTasks', () => {
  beforeEach(() => {
    ecs.reset();
    shown = [];
    // As ECS lists them: by startedBy alone (desired status RUNNING), or by family and desired status.
    ecs.on(ListTasksCommand).callsFake((input: ListTasksCommandInput) => ({
      taskArns: shown
        .filter((task) => clusterOfTask(task) === input.cluster)
        .filter((task) =>
          input.startedBy !== undefined
            ? task.startedBy === input.startedBy && task.desiredStatus === 'RUNNING'
            : task.desiredStatus === (input.desiredStatus ?? 'RUNNING') &&
              task.taskDefinitionArn?.includes(`/${input.family}:`),
        )
        .map((task) => task.taskArn),
    }));
    ecs.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({
      tasks: shown
        .filter((task) => input.tasks?.includes(task.taskArn as string))
        .map((task) => (input.include?.includes('TAGS') ? task : { ...task, tags: undefined })),
      failures: [],
    }));
    ecs.on(DescribeTaskDefinitionCommand).callsFake(({ taskDefinition }) => ({
      taskDefinition: {
        taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${taskDefinition}`,
        containerDefinitions: [{ name: 'app', image: 'repo/app:new', logConfiguration: awslogs }],
      },
    }));
    ecs.on(StopTaskCommand).resolves({});
  });

  it('starts the migration in every environment with the run markers, network and command', async () => {
    // Prepare
    runTasksSucceed();

    // Act
    const state = await startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 3);
    expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, {
      cluster: 'eu-cluster',
      taskDefinition: 'eu-oneoff:2',
      launchType: 'FARGATE',
      count: 1,
      startedBy: plan.runId,
      clientToken: clientTokenOf(EXECUTION_ARN, 'migrate', 'eu', 'migrate'),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-eu'],
          securityGroups: ['sg-eu'],
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: { containerOverrides: [{ name: 'app', command: ['node', 'migrate.mjs'] }] },
      tags: [
        { key: TAGS.release, value: '2026-11-26.3' },
        { key: TAGS.execution, value: EXECUTION_ARN },
        { key: TAGS.environment, value: 'eu' },
        { key: TAGS.phase, value: 'migrate' },
        { key: TAGS.step, value: 'migrate' },
      ],
    });
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: 'eu-cluster', startedBy: plan.runId });
    for (const call of ecs.commandCalls(ListTasksCommand)) {
      const { startedBy, ...others } = call.args[0].input;
      if (startedBy !== undefined) expect(others).toEqual({ cluster: expect.any(String) });
    }
    expect(state).toEqual({
      phase: 'migrate',
      status: 'RUNNING',
      failures: [],
      tasks: ['us', 'eu', 'au'].map((env) => ({
        environment: env,
        step: 'migrate',
        taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${env}-cluster/${env}migrate0001`,
        log: {
          logGroup: '/stepdeploy/oneoff',
          logStream: `oneoff/app/${env}migrate0001`,
          region: environment(env).region,
        },
      })),
    });
  });

  it('asks for the same tasks with the same client tokens on a retry, so ECS starts nothing twice', async () => {
    // Prepare
    runTasksSucceed();
    const event = { phase: 'pre-deploy' as Phase, plan, executionArn: EXECUTION_ARN };
    const tokens = () => ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.clientToken);
    await startTasks(event, deps());
    const first = tokens();
    ecs.resetHistory();

    // Act
    await startTasks(event, deps());

    // Assess
    expect(tokens()).toEqual(first);
    expect(new Set(first).size).toBe(3);
    expect(first).toContain(clientTokenOf(EXECUTION_ARN, 'pre-deploy', 'au', 'assets'));
  });

  it('gives each task of another execution its own client token', async () => {
    runTasksSucceed();
    await startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());
    await startTasks({ phase: 'migrate', plan, executionArn: `${EXECUTION_ARN}-redo` }, deps());

    const tokens = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.clientToken);
    expect(new Set(tokens).size).toBe(6);
  });

  it('runs one task per configured step, on the step container', async () => {
    // Prepare
    runTasksSucceed();
    const twoSteps = testConfig({
      postDeploySteps: [
        { name: 'tag-release', container: 'app', command: ['node', 'tag-release.mjs'] },
        { name: 'warm-cache', container: 'tools', command: ['warm'] },
      ],
    });

    // Act
    const state = await startTasks(
      { phase: 'post-deploy', plan: { ...plan, environments: ['us'] }, executionArn: EXECUTION_ARN },
      deps({ config: twoSteps }),
    );

    // Assess
    expect(state.tasks.map((task) => task.step)).toEqual(['tag-release', 'warm-cache']);
    expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, {
      overrides: { containerOverrides: [{ name: 'tools', command: ['warm'] }] },
    });
    expect(state.tasks[1].log).toBeUndefined();
  });

  it.each([
    { name: 'skipMigrations', phase: 'migrate' as Phase, skip: true, config: testConfig() },
    {
      name: 'no migration configured',
      phase: 'migrate' as Phase,
      skip: false,
      config: testConfig({
        environments: ['us', 'eu', 'au'].map((env) => environment(env, { migration: undefined })),
      }),
    },
    {
      name: 'no post-deploy steps',
      phase: 'post-deploy' as Phase,
      skip: false,
      config: testConfig({ postDeploySteps: [] }),
    },
    ...(['pre-deploy', 'migrate', 'post-deploy'] as Phase[]).map((phase) => ({
      name: `a rollback to an earlier release (${phase})`,
      phase,
      skip: false,
      rollbackTo: '2026-11-20.1',
      config: testConfig(),
    })),
  ])('succeeds at once with nothing to run: $name', async ({ phase, skip, config: phaseConfig, ...rest }) => {
    // Act
    const rollbackTo = 'rollbackTo' in rest ? rest.rollbackTo : undefined;
    const state = await startTasks(
      { phase, plan: { ...plan, skipMigrations: skip, rollbackTo }, executionArn: EXECUTION_ARN },
      deps({ config: phaseConfig }),
    );

    // Assess
    expect(state).toEqual({ phase, tasks: [], status: 'SUCCEEDED', failures: [] });
    expect(ecs).not.toHaveReceivedCommand(RunTaskCommand);
  });

  it('stops the started tasks and names the environment, step and ECS reason when a task fails to start', async () => {
    // Prepare
    runTasksSucceed();
    ecs.on(RunTaskCommand, { cluster: 'eu-cluster' }).resolves({
      tasks: [],
      failures: [
        {
          arn: 'arn:aws:ecs:eu-west-1:123456789012:container-instance/x',
          reason: 'RESOURCE:MEMORY',
          detail: 'no room',
        },
      ],
    });

    // Act
    const started = startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    const error = await started.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(String((error as Error).message)).toMatch(
      /Phase migrate: 1 of 3 task\(s\) failed to start; the 2 started were stopped\.\neu\/migrate: no exit code: failed to start: RESOURCE:MEMORY: no room/,
    );
    expect(parseTaskFailures((error as Error).message)).toEqual([
      {
        environment: 'eu',
        step: 'migrate',
        exitCode: null,
        reason: 'failed to start: RESOURCE:MEMORY: no room',
      },
    ]);
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 2);
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: 'us-cluster',
      task: 'arn:aws:ecs:us-east-1:123456789012:task/us-cluster/usmigrate0001',
      reason: 'stepdeploy: stopped because eu/migrate failed: failed to start: RESOURCE:MEMORY: no room',
    });
    expect(ecs).not.toHaveReceivedCommandWith(StopTaskCommand, { cluster: 'eu-cluster' });
  });

  it('treats a RunTask exception as a task that failed to start', async () => {
    // Prepare
    runTasksSucceed();
    ecs.on(RunTaskCommand, { cluster: 'au-cluster' }).rejects(
      Object.assign(new Error('Container app not found in task definition'), {
        name: 'InvalidParameterException',
      }),
    );

    // Act
    const started = startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    await expect(started).rejects.toThrow(TaskFailedError);
    await expect(started).rejects.toThrow(
      'au/migrate: no exit code: failed to start: InvalidParameterException: Container app not found in task definition',
    );
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 2);
  });

  it('still reports the failure when a started task cannot be stopped', async () => {
    // Prepare
    runTasksSucceed();
    ecs.on(RunTaskCommand, { cluster: 'eu-cluster' }).resolves({ failures: [{ reason: 'AGENT' }] });
    ecs.on(StopTaskCommand).rejects(new Error('throttled'));

    // Act
    const started = startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    await expect(started).rejects.toThrow(
      /2 of the 2 started could not be stopped here; the run stops them by startedBy/,
    );
  });

  it('takes over the tasks an earlier attempt started, running or recently stopped, and starts only the others', async () => {
    // Prepare
    runTasksSucceed();
    const usRunning = shownTask('us', 'migrate');
    const euStopped = shownTask('eu', 'migrate', { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    shown = [
      usRunning,
      euStopped,
      // Not this phase's, nor this execution's: started by another attempt of something else.
      shownTask('au', 'migrate', { phase: 'pre-deploy', taskArn: 'arn:aws:ecs:x:1:task/au-cluster/pre' }),
      shownTask('au', 'migrate', {
        execution: `${EXECUTION_ARN}-other`,
        taskArn: 'arn:aws:ecs:x:1:task/au-cluster/o',
      }),
    ];

    // Act
    const state = await startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, { cluster: 'au-cluster' });
    expect(state.tasks.map((task) => task.taskArn)).toEqual([
      usRunning.taskArn,
      euStopped.taskArn,
      'arn:aws:ecs:us-east-1:123456789012:task/au-cluster/aumigrate0001',
    ]);
    expect(state.tasks[0].log?.logStream).toBe('oneoff/app/usmigrateearlier');
  });

  it('goes on without the stopped tasks should ECS refuse to list them by family and desired status', async () => {
    // Prepare
    runTasksSucceed();
    shown = [shownTask('us', 'migrate')];
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).rejects(
      Object.assign(new Error('cannot specify family with other arguments'), {
        name: 'InvalidParameterException',
      }),
    );

    // Act
    const state = await startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps());

    // Assess
    expect(state.tasks[0].taskArn).toBe(shown[0].taskArn);
    expect(ecs).toHaveReceivedCommandTimes(RunTaskCommand, 2);
  });

  it('refuses, starting nothing, once the run is older than a client token lasts and a task cannot be found', async () => {
    // Prepare: Plan ran 25 hours ago; only us's migration is still shown.
    runTasksSucceed();
    shown = [shownTask('us', 'migrate')];
    const clock = fakeClock(Date.parse(plan.startedAt) + RUN_TASK_TOKEN_TTL_MS + 3_600_000);

    // Act
    const error = await startTasks(
      { phase: 'migrate', plan, executionArn: EXECUTION_ARN },
      deps({ clock }),
    ).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(StaleRunError);
    expect((error as Error).message).toMatch(
      /^Phase migrate of release 2026-11-26\.3: the run started at 2026-11-26T07:00:00\.000Z, more than 24 hours ago, so RunTask's client tokens no longer keep eu\/migrate, au\/migrate from starting twice, .* Nothing was started\. If they never ran, start a new execution of release 2026-11-26\.3/,
    );
    expect(ecs).not.toHaveReceivedCommand(RunTaskCommand);
  });

  it('takes over every task of an old run when all are found, and counts age on the token lifetime it is given', async () => {
    // Prepare
    runTasksSucceed();
    shown = ['us', 'eu', 'au'].map((env) => shownTask(env, 'migrate'));
    const late = fakeClock(Date.parse(plan.startedAt) + 2 * RUN_TASK_TOKEN_TTL_MS);
    const event = { phase: 'migrate' as Phase, plan, executionArn: EXECUTION_ARN };

    // Act
    const state = await startTasks(event, deps({ clock: late }));
    shown = [];
    const scaled = await startTasks(
      event,
      deps({ clock: fakeClock(Date.parse(plan.startedAt) + 1_000), tokenTtlMs: 500 }),
    ).catch((caught: unknown) => caught);

    // Assess
    expect(state.tasks).toHaveLength(3);
    expect(ecs).not.toHaveReceivedCommand(RunTaskCommand);
    expect(scaled).toBeInstanceOf(StaleRunError);
  });

  it('sends the network only where the one-off task definition is awsvpc, and a capacity provider strategy instead of a launch type', async () => {
    // Prepare
    runTasksSucceed();
    const placed = testConfig({
      environments: [
        environment('us', { network: undefined, launchType: 'EC2' }),
        environment('eu', {
          launchType: undefined,
          capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
        }),
      ],
    });

    // Act
    await startTasks(
      { phase: 'migrate', plan: { ...plan, environments: ['us', 'eu'] }, executionArn: EXECUTION_ARN },
      deps({ config: placed }),
    );

    // Assess
    const input = (cluster: string) =>
      ecs.commandCalls(RunTaskCommand).find((call) => call.args[0].input.cluster === cluster)?.args[0].input;
    expect(input('us-cluster')).toMatchObject({ launchType: 'EC2' });
    expect(input('us-cluster')?.networkConfiguration).toBeUndefined();
    expect(input('us-cluster')?.capacityProviderStrategy).toBeUndefined();
    expect(input('eu-cluster')).toMatchObject({
      capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-eu'] } },
    });
    expect(input('eu-cluster')?.launchType).toBeUndefined();
  });

  it('names what changed when ECS refuses a client token used with other parameters', async () => {
    // Prepare: the task eu's token started ran another command; au's is no longer shown.
    runTasksSucceed();
    const earlier = shownTask('eu', 'migrate', {
      taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/eu-cluster/first',
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      tags: [],
      overrides: { containerOverrides: [{ name: 'app', command: ['node', 'migrate-old.mjs'] }] },
      launchType: 'FARGATE',
      attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'subnetId', value: 'subnet-eu' }] }],
    });
    shown = [earlier];
    const conflict = (resourceIds: string[]) =>
      new ConflictException({ message: 'The clientToken is already in use', $metadata: {}, resourceIds });
    ecs.on(RunTaskCommand, { cluster: 'eu-cluster' }).rejects(conflict([earlier.taskArn as string]));
    ecs
      .on(RunTaskCommand, { cluster: 'au-cluster' })
      .rejects(conflict(['arn:aws:ecs:x:1:task/au-cluster/gone']));

    // Act
    const error = await startTasks({ phase: 'migrate', plan, executionArn: EXECUTION_ARN }, deps()).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(TaskFailedError);
    const [eu, au] = parseTaskFailures((error as Error).message);
    expect(eu.reason).toBe(
      'failed to start: RunTask refused its client token: the task it started (arn:aws:ecs:eu-west-1:123456789012:task/eu-cluster/first) ran with command ["node","migrate-old.mjs"] in container app, now ["node","migrate.mjs"]; the configuration changed since this execution first started it; start a new execution of the release to run it with the current configuration',
    );
    expect(au.reason).toMatch(/ECS no longer shows it to tell which; the configuration changed since/);
  });
});

describe('requestChanges', () => {
  const task: Task = {
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:1:task-definition/eu-oneoff:2',
    overrides: { containerOverrides: [{ name: 'app', command: ['migrate'] }] },
    launchType: 'FARGATE',
    attachments: [{ details: [{ name: 'subnetId', value: 'subnet-a' }] }],
  };
  const request = {
    taskDefinition: 'eu-oneoff:2',
    overrides: { containerOverrides: [{ name: 'app', command: ['migrate'] }] },
    launchType: 'FARGATE' as const,
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-a'] } },
  };

  it.each([
    { name: 'nothing', change: {}, expected: [] },
    {
      name: 'the revision',
      change: { taskDefinition: 'eu-oneoff:3' },
      expected: ['task definition eu-oneoff:2, now eu-oneoff:3'],
    },
    { name: 'the launch type', change: { launchType: 'EC2' as const }, expected: ['FARGATE, now EC2'] },
    {
      name: 'a capacity provider strategy',
      change: { launchType: undefined, capacityProviderStrategy: [{ capacityProvider: 'spot' }] },
      expected: ['FARGATE, now capacity provider strategy spot'],
    },
    {
      name: 'the subnets',
      change: { networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-b'] } } },
      expected: ['subnet subnet-a, now subnets subnet-b'],
    },
    {
      name: 'no network any more',
      change: { networkConfiguration: undefined },
      expected: ['subnet subnet-a, now none'],
    },
  ])('names $name', ({ change, expected }) => {
    expect(requestChanges(task, { ...request, ...change })).toEqual(expected);
  });
});
