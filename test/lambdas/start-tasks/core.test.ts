import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RunTaskCommand,
  type RunTaskCommandInput,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../lambdas/shared/clients.js';
import { parseTaskFailures } from '../../../lambdas/shared/ecs-tasks.js';
import { TaskFailedError } from '../../../lambdas/shared/errors.js';
import { clientTokenOf, TAGS } from '../../../lambdas/shared/markers.js';
import type { Phase } from '../../../lambdas/shared/types.js';
import { startTasks } from '../../../lambdas/start-tasks/core.js';
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

const deps = (overrides: Partial<Parameters<typeof startTasks>[1]> = {}) => ({
  clients,
  clock: fakeClock(),
  config,
  ...overrides,
});

describe('startTasks', () => {
  beforeEach(() => {
    ecs.reset();
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
        { key: TAGS.step, value: 'migrate' },
      ],
    });
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
  ])('succeeds at once with nothing to run: $name', async ({ phase, skip, config: phaseConfig }) => {
    // Act
    const state = await startTasks(
      { phase, plan: { ...plan, skipMigrations: skip }, executionArn: EXECUTION_ARN },
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
});
