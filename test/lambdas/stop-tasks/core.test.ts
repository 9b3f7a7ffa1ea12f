import {
  DescribeTasksCommand,
  type DescribeTasksCommandInput,
  ECSClient,
  ListTasksCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../lambdas/shared/clients.js';
import { describeTaskFailure } from '../../../lambdas/shared/ecs-tasks.js';
import { TransientError } from '../../../lambdas/shared/errors.js';
import type { TaskFailure, TaskPhaseState } from '../../../lambdas/shared/types.js';
import { failuresOf, stopTasks } from '../../../lambdas/stop-tasks/core.js';
import { fakeClock, taskPlan, testConfig, throttled } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const clients = createClients({ ecs: ECSClient });
const deps = { clients, clock: fakeClock(), config: testConfig() };

const plan = taskPlan();

const euFailure: TaskFailure = {
  environment: 'eu',
  step: 'migrate',
  taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/eu-cluster/eu1',
  exitCode: 1,
  stopCode: 'EssentialContainerExited',
  reason: 'Essential container in task exited',
};

const failedState: TaskPhaseState = {
  phase: 'migrate',
  status: 'FAILED',
  failures: [euFailure],
  tasks: ['us', 'eu', 'au'].map((env) => ({
    environment: env,
    step: 'migrate',
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${env}-cluster/${env}1`,
  })),
};

describe('failuresOf', () => {
  const lambdaCause = (errorType: string, errorMessage: string) =>
    JSON.stringify({
      errorType,
      errorMessage,
      trace: [`${errorType}: ${errorMessage}`, '    at startTasks'],
    });

  it.each<{ name: string; event: Parameters<typeof failuresOf>[0]; expected: TaskFailure[] }>([
    {
      name: 'the state of a failed check',
      event: { phase: 'migrate', state: failedState },
      expected: [euFailure],
    },
    {
      name: 'the failures a TaskFailedError lists',
      event: {
        phase: 'migrate',
        error: {
          Error: 'TaskFailedError',
          Cause: lambdaCause(
            'TaskFailedError',
            [
              'Phase migrate: 2 of 3 task(s) failed to start; the 1 started were stopped.',
              describeTaskFailure({
                environment: 'eu',
                step: 'migrate',
                exitCode: null,
                reason: 'failed to start: RESOURCE:MEMORY',
              }),
              describeTaskFailure({
                environment: 'au',
                step: 'migrate',
                exitCode: 2,
                stopCode: 'EssentialContainerExited',
                reason: 'boom',
              }),
              'Fix the cause, then start the release again.',
            ].join('\n'),
          ),
        },
      },
      expected: [
        { environment: 'eu', step: 'migrate', exitCode: null, reason: 'failed to start: RESOURCE:MEMORY' },
        {
          environment: 'au',
          step: 'migrate',
          exitCode: 2,
          stopCode: 'EssentialContainerExited',
          reason: 'boom',
        },
      ],
    },
    {
      name: 'any other error, as one failure of the phase',
      event: {
        phase: 'pre-deploy',
        error: { Error: 'States.Timeout', Cause: 'Task timed out after 900.00 seconds' },
      },
      expected: [
        {
          environment: '*',
          step: 'pre-deploy',
          exitCode: null,
          reason: 'States.Timeout: Task timed out after 900.00 seconds',
        },
      ],
    },
    {
      name: 'neither state nor error',
      event: { phase: 'post-deploy' },
      expected: [
        {
          environment: '*',
          step: 'post-deploy',
          exitCode: null,
          reason: 'the phase failed without a reported cause',
        },
      ],
    },
  ])('reports $name', ({ event, expected }) => {
    expect(failuresOf(event)).toEqual(expected);
  });
});

describe('stopTasks', () => {
  /** ARNs DescribeTasks answers as already stopped; every other task still runs. */
  let stoppedArns: string[] = [];

  beforeEach(() => {
    ecs.reset();
    stoppedArns = [];
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({
      tasks: (input.tasks ?? []).map((taskArn) => ({
        taskArn,
        startedBy: plan.runId,
        desiredStatus: stoppedArns.includes(taskArn) ? 'STOPPED' : 'RUNNING',
        lastStatus: stoppedArns.includes(taskArn) ? 'STOPPED' : 'RUNNING',
      })),
    }));
    ecs.on(StopTaskCommand).resolves({});
  });

  it('raises a TransientError naming the call and the environment when a StopTask is throttled past the SDK retries', async () => {
    // Prepare
    ecs
      .on(ListTasksCommand, { cluster: 'eu-cluster' })
      .resolves({ taskArns: ['arn:aws:ecs:eu-west-1:123456789012:task/eu-cluster/eu2'] });
    ecs.on(StopTaskCommand).rejects(throttled('StopTask'));

    // Act
    const stopping = stopTasks({ phase: 'migrate', plan, state: failedState }, deps);

    // Assess
    await expect(stopping).rejects.toThrow(TransientError);
    await expect(stopping).rejects.toThrow(
      /^StopTasks: StopTask on eu \(task arn:aws:ecs:eu-west-1:123456789012:task\/eu-cluster\/eu2\) failed \(ThrottlingException/,
    );
  });

  it('keeps at most 40 failures, their reasons cut, and counts the rest', async () => {
    const many: TaskPhaseState = {
      ...failedState,
      failures: Array.from({ length: 60 }, (_, i) => ({
        ...euFailure,
        step: `s${i}`,
        reason: 'r'.repeat(2000),
      })),
    };

    const state = await stopTasks({ phase: 'migrate', plan, state: many }, deps);

    expect(state.failures).toHaveLength(40);
    expect(state.omittedFailures).toBe(20);
    expect(Math.max(...state.failures.map((failure) => failure.reason.length))).toBeLessThanOrEqual(400);
  });

  it('stops every task the run still has running, naming the failure', async () => {
    // Prepare
    const us = 'arn:aws:ecs:us-east-1:123456789012:task/us-cluster/us1';
    const au = [
      'arn:aws:ecs:ap-southeast-2:123456789012:task/au-cluster/au1',
      'arn:aws:ecs:ap-southeast-2:123456789012:task/au-cluster/au2',
    ];
    ecs.on(ListTasksCommand, { cluster: 'us-cluster' }).resolves({ taskArns: [us] });
    ecs
      .on(ListTasksCommand, { cluster: 'au-cluster' })
      .resolvesOnce({ taskArns: [au[0]], nextToken: 'next' })
      .resolvesOnce({ taskArns: [au[1]] });

    // Act
    const result = await stopTasks({ phase: 'migrate', plan, state: failedState }, deps);

    // Assess
    // startedBy must be ListTasks' only filter (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
    for (const call of ecs.commandCalls(ListTasksCommand)) {
      const { cluster, startedBy, nextToken, ...others } = call.args[0].input;
      expect({ startedBy, others }).toEqual({ startedBy: plan.runId, others: {} });
    }
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 3);
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: 'us-cluster',
      task: us,
      reason: 'stepdeploy: stopped because eu/migrate exited 1: Essential container in task exited',
    });
    expect(result).toEqual({
      phase: 'migrate',
      status: 'FAILED',
      failures: [euFailure],
      tasks: failedState.tasks,
      stopped: [us, ...au],
    });
  });

  it('stops only the listed tasks DescribeTasks shows still wanted running', async () => {
    // Prepare
    const tasks = [
      'arn:aws:ecs:us-east-1:123456789012:task/us-cluster/running',
      'arn:aws:ecs:us-east-1:123456789012:task/us-cluster/stopped',
    ];
    ecs.on(ListTasksCommand, { cluster: 'us-cluster' }).resolves({ taskArns: tasks });
    stoppedArns = [tasks[1]];

    // Act
    const result = await stopTasks({ phase: 'migrate', plan, state: failedState }, deps);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, { task: tasks[0] });
    expect(result.stopped).toEqual([tasks[0]]);
  });

  it('is harmless when nothing runs any more, so a retry changes nothing', async () => {
    // Act
    const result = await stopTasks({ phase: 'migrate', plan, state: failedState }, deps);

    // Assess
    expect(ecs).toHaveReceivedCommandTimes(ListTasksCommand, 3);
    expect(ecs).not.toHaveReceivedCommand(StopTaskCommand);
    expect(result.stopped).toEqual([]);
    expect(result.status).toBe('FAILED');
  });

  it('reports the caught error when the phase threw, with no state', async () => {
    const result = await stopTasks(
      { phase: 'pre-deploy', plan, error: { Error: 'Lambda.Unknown', Cause: 'The Lambda function failed' } },
      deps,
    );

    expect(result).toEqual({
      phase: 'pre-deploy',
      status: 'FAILED',
      tasks: [],
      failures: [
        {
          environment: '*',
          step: 'pre-deploy',
          exitCode: null,
          reason: 'Lambda.Unknown: The Lambda function failed',
        },
      ],
      stopped: [],
    });
  });

  it('keeps the stop reason within the 255 characters ECS takes', async () => {
    // Prepare
    ecs
      .on(ListTasksCommand, { cluster: 'us-cluster' })
      .resolves({ taskArns: ['arn:aws:ecs:us-east-1:1:task/us-cluster/us1'] });
    const verbose: TaskPhaseState = { ...failedState, failures: [{ ...euFailure, reason: 'x'.repeat(400) }] };

    // Act
    await stopTasks({ phase: 'migrate', plan, state: verbose }, deps);

    // Assess
    const reason = ecs.commandCalls(StopTaskCommand)[0].args[0].input.reason ?? '';
    expect(reason).toHaveLength(255);
    expect(reason.startsWith('stepdeploy: stopped because eu/migrate exited 1: xxx')).toBe(true);
  });
});
