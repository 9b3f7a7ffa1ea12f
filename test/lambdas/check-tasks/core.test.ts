import { DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  aggregateTasks,
  checkTasks,
  judgeTask,
  type TaskObservation,
} from '../../../lambdas/check-tasks/core.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import { startWatch } from '../../../lambdas/shared/lambda-context.js';
import type { TaskPhaseState, TaskRef } from '../../../lambdas/shared/types.js';
import { awsError, fakeClock, testConfig, throttled } from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const clients = createClients({ ecs: ECSClient });
const config = testConfig();

const arnOf = (env: string, n = 1) => `arn:aws:ecs:us-east-1:123456789012:task/${env}-cluster/${env}${n}`;
const ref = (env: string, n = 1): TaskRef => ({ environment: env, step: 'migrate', taskArn: arnOf(env, n) });

type Described = TaskObservation['task'];
const running: Described = { lastStatus: 'RUNNING', containers: [{ name: 'app', lastStatus: 'RUNNING' }] };
const exited = (exitCode: number | undefined, extra: Partial<Task> = {}): Described => ({
  lastStatus: 'STOPPED',
  stopCode: 'EssentialContainerExited',
  stoppedReason: 'Essential container in task exited',
  containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode }],
  ...extra,
});

describe('judgeTask', () => {
  it.each<{
    name: string;
    observation: Omit<TaskObservation, 'ref'>;
    expected: ReturnType<typeof judgeTask>;
  }>([
    {
      name: 'pending',
      observation: { container: 'app', task: { lastStatus: 'PENDING', containers: [] } },
      expected: { outcome: 'running' },
    },
    { name: 'running', observation: { container: 'app', task: running }, expected: { outcome: 'running' } },
    {
      name: 'container exited 0, task still deprovisioning',
      observation: {
        container: 'app',
        task: {
          lastStatus: 'DEPROVISIONING',
          containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode: 0 }],
        },
      },
      expected: { outcome: 'running' },
    },
    {
      name: 'stopped, exit 0',
      observation: { container: 'app', task: exited(0) },
      expected: { outcome: 'succeeded' },
    },
    {
      name: 'stopped, exit 1',
      observation: { container: 'app', task: exited(1) },
      expected: {
        outcome: 'failed',
        failure: {
          environment: 'eu',
          step: 'migrate',
          taskArn: arnOf('eu'),
          exitCode: 1,
          stopCode: 'EssentialContainerExited',
          reason: 'Essential container in task exited',
        },
      },
    },
    {
      name: 'container exited 2 while the task stops: failed at once, with the container reason',
      observation: {
        container: 'app',
        task: {
          lastStatus: 'STOPPING',
          containers: [{ name: 'app', lastStatus: 'STOPPED', exitCode: 2, reason: 'OutOfMemoryError' }],
        },
      },
      expected: {
        outcome: 'failed',
        failure: {
          environment: 'eu',
          step: 'migrate',
          taskArn: arnOf('eu'),
          exitCode: 2,
          reason: 'OutOfMemoryError',
        },
      },
    },
    {
      name: 'stopped without an exit code',
      observation: {
        container: 'app',
        task: exited(undefined, {
          stopCode: 'TaskFailedToStart',
          stoppedReason: 'CannotPullContainerError: not found',
        }),
      },
      expected: {
        outcome: 'failed',
        failure: {
          environment: 'eu',
          step: 'migrate',
          taskArn: arnOf('eu'),
          exitCode: null,
          stopCode: 'TaskFailedToStart',
          reason: 'CannotPullContainerError: not found',
        },
      },
    },
    {
      name: 'the step container decides, not the sidecar',
      observation: {
        container: 'app',
        task: {
          lastStatus: 'STOPPED',
          containers: [
            { name: 'sidecar', lastStatus: 'STOPPED', exitCode: 137 },
            { name: 'app', lastStatus: 'STOPPED', exitCode: 0 },
          ],
        },
      },
      expected: { outcome: 'succeeded' },
    },
    {
      name: 'ECS no longer shows the task: stopped more than an hour ago, or seen running before',
      observation: { container: 'app', missingReason: 'MISSING' },
      expected: {
        outcome: 'failed',
        failure: {
          environment: 'eu',
          step: 'migrate',
          taskArn: arnOf('eu'),
          exitCode: null,
          reason:
            'ECS does not show the task (MISSING) although the phase started over 5 minutes ago: ECS shows a new task within minutes of RunTask and a stopped one for about an hour, so its exit code is unknown',
        },
      },
    },
    {
      name: 'DescribeTasks returned neither the task nor a failure',
      observation: { container: 'app' },
      expected: {
        outcome: 'failed',
        failure: {
          environment: 'eu',
          step: 'migrate',
          taskArn: arnOf('eu'),
          exitCode: null,
          reason:
            'ECS does not show the task (not returned) although the phase started over 5 minutes ago: ECS shows a new task within minutes of RunTask and a stopped one for about an hour, so its exit code is unknown',
        },
      },
    },
    {
      name: 'MISSING within minutes of the phase start: not visible yet (https://github.com/boto/boto3/issues/842)',
      observation: { container: 'app', missingReason: 'MISSING', starting: true },
      expected: { outcome: 'running' },
    },
    {
      name: 'stopped with exit 1 within minutes of the phase start: failed all the same',
      observation: { container: 'app', task: exited(1), starting: true },
      expected: expect.objectContaining({ outcome: 'failed' }),
    },
    {
      name: 'its read failed transiently: nothing known, still running',
      observation: { container: 'app', unread: 'DescribeTasks failed (ThrottlingException: Rate exceeded)' },
      expected: { outcome: 'running' },
    },
  ])('$name', ({ observation, expected }) => {
    expect(judgeTask({ ref: ref('eu'), ...observation })).toEqual(expected);
  });
});

describe('aggregateTasks', () => {
  it.each<{ name: string; tasks: Described[]; status: string; failed: string[] }>([
    { name: 'no tasks', tasks: [], status: 'SUCCEEDED', failed: [] },
    { name: 'all succeeded', tasks: [exited(0), exited(0), exited(0)], status: 'SUCCEEDED', failed: [] },
    { name: 'one still running', tasks: [exited(0), running, exited(0)], status: 'RUNNING', failed: [] },
    {
      name: 'one failed while others run',
      tasks: [running, exited(1), running],
      status: 'FAILED',
      failed: ['eu'],
    },
    {
      name: 'two failed',
      tasks: [exited(3), exited(0), exited(undefined)],
      status: 'FAILED',
      failed: ['us', 'au'],
    },
    {
      name: 'one unknown to ECS',
      tasks: [exited(0), undefined, exited(0)],
      status: 'FAILED',
      failed: ['eu'],
    },
  ])('$name -> $status', ({ tasks, status, failed }) => {
    // Prepare
    const envs = ['us', 'eu', 'au'];
    const observations = tasks.map((task, index) => ({
      ref: ref(envs[index]),
      container: 'app',
      task,
      missingReason: task ? undefined : 'MISSING',
    }));

    // Act
    const aggregate = aggregateTasks(observations);

    // Assess
    expect(aggregate.status).toBe(status);
    expect(aggregate.failures.map((failure) => failure.environment)).toEqual(failed);
  });
});

describe('checkTasks', () => {
  const state: TaskPhaseState = {
    phase: 'migrate',
    status: 'RUNNING',
    failures: [],
    tasks: ['us', 'eu', 'au'].map((env) => ({
      ...ref(env),
      log: { logGroup: '/oneoff', logStream: `oneoff/app/${env}1`, region: 'us-east-1' },
    })),
  };
  const describedAs = (task: Described, taskArn: string): Task => ({ ...task, taskArn });
  /** DescribeTasks answers every task it is asked about as `task`. */
  const describeEveryTaskAs =
    (task: Described) =>
    ({ tasks }: { tasks: string[] }) => ({ tasks: tasks.map((arn) => describedAs(task, arn)) });

  beforeEach(() => {
    ecs.reset();
  });

  it('looks again after each poll interval until every task succeeded, and drops the log streams', async () => {
    // Prepare
    const clock = fakeClock();
    ecs
      .on(DescribeTasksCommand)
      .callsFake(describeEveryTaskAs(running))
      .on(DescribeTasksCommand, { cluster: 'us-cluster' })
      .resolvesOnce({ tasks: [describedAs(running, arnOf('us'))] })
      .resolves({ tasks: [describedAs(exited(0), arnOf('us'))] });
    ecs
      .on(DescribeTasksCommand, { cluster: 'eu-cluster' })
      .resolves({ tasks: [describedAs(exited(0), arnOf('eu'))] });
    ecs
      .on(DescribeTasksCommand, { cluster: 'au-cluster' })
      .resolves({ tasks: [describedAs(exited(0), arnOf('au'))] });

    // Act
    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    // Assess
    expect(result).toEqual({
      phase: 'migrate',
      status: 'SUCCEEDED',
      failures: [],
      tasks: ['us', 'eu', 'au'].map((env) => ref(env)),
    });
    expect(clock.sleeps).toEqual([5000]);
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 6);
  });

  it('returns RUNNING once the watch is spent', async () => {
    // Prepare
    const clock = fakeClock();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(running));

    // Act
    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 15 }, clock),
    );

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(clock.sleeps).toEqual([5000, 5000, 5000]);
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 4 * 3);
  });

  it('looks once without sleeping when the watch has no room for a sleep', async () => {
    const clock = fakeClock();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(running));

    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 0 }, clock),
    );

    expect(result.status).toBe('RUNNING');
    expect(clock.sleeps).toEqual([]);
  });

  it('fails as soon as one task failed, with a task ECS no longer knows as a failure', async () => {
    // Prepare
    const clock = fakeClock();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(running));
    ecs
      .on(DescribeTasksCommand, { cluster: 'eu-cluster' })
      .resolves({ failures: [{ arn: arnOf('eu'), reason: 'MISSING' }] });

    // Act
    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.failures).toEqual([
      expect.objectContaining({ environment: 'eu', step: 'migrate', taskArn: arnOf('eu'), exitCode: null }),
    ]);
    expect(clock.sleeps).toEqual([]);
  });

  it('decides nothing on a throttled read: backs off, still acting on what the other reads show', async () => {
    // Prepare: eu's reads are throttled past the SDK's retries; au's migration fails meanwhile.
    const clock = fakeClock();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(running));
    ecs.on(DescribeTasksCommand, { cluster: 'eu-cluster' }).rejects(throttled('DescribeTasks'));
    ecs
      .on(DescribeTasksCommand, { cluster: 'au-cluster' })
      .resolvesOnce({ tasks: [describedAs(running, arnOf('au'))] })
      .resolvesOnce({ tasks: [describedAs(running, arnOf('au'))] })
      .resolves({ tasks: [describedAs(exited(1), arnOf('au'))] });

    // Act
    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 600 }, clock),
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.failures.map((failure) => failure.environment)).toEqual(['au']);
    expect(clock.sleeps).toEqual([10_000, 20_000]);
  });

  it('hands the state back RUNNING when every read of its watch was throttled', async () => {
    // Prepare
    const clock = fakeClock();
    ecs.on(DescribeTasksCommand).rejects(awsError('ServerException', 'Service unavailable', 500));

    // Act
    const result = await checkTasks(
      state,
      { clients, clock, config },
      startWatch({ watchSeconds: 600 }, clock),
    );

    // Assess
    expect(result).toEqual({
      phase: 'migrate',
      status: 'RUNNING',
      failures: [],
      tasks: state.tasks.map(({ log: _, ...task }) => task),
    });
    expect(Math.max(...clock.sleeps)).toBe(60_000);
  });

  it('fails loudly on a read error that is not transient, naming the call and the environment', async () => {
    const clock = fakeClock();
    ecs
      .on(DescribeTasksCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:DescribeTasks'));

    const checking = checkTasks(state, { clients, clock, config }, startWatch({ watchSeconds: 600 }, clock));

    await expect(checking).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /^CheckTasks: DescribeTasks on (us|eu|au) \(cluster \w+-cluster, us-east-1\) failed: not authorized/,
      ),
    });
  });

  it('names the call, the environment and the tasks that had already succeeded when a later look fails on an error', async () => {
    // Prepare: the first look sees us and eu succeeded, au running; then au's read is refused.
    const clock = fakeClock();
    ecs
      .on(DescribeTasksCommand, { cluster: 'us-cluster' })
      .resolves({ tasks: [describedAs(exited(0), arnOf('us'))] });
    ecs
      .on(DescribeTasksCommand, { cluster: 'eu-cluster' })
      .resolves({ tasks: [describedAs(exited(0), arnOf('eu'))] });
    ecs
      .on(DescribeTasksCommand, { cluster: 'au-cluster' })
      .resolvesOnce({ tasks: [describedAs(running, arnOf('au'))] })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:DescribeTasks'));

    // Act
    const checking = checkTasks(state, { clients, clock, config }, startWatch({ watchSeconds: 600 }, clock));

    // Assess
    await expect(checking).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /^CheckTasks: DescribeTasks on au \(cluster au-cluster, ap-southeast-2\) failed: not authorized.*; nothing was decided; us\/migrate, eu\/migrate had succeeded when last looked at\.$/,
      ),
    });
  });

  it('takes a task MISSING soon after the phase started as still starting, and keeps the start time', async () => {
    // Prepare: ECS is eventually consistent; RunTask's page says to look again for up to five
    // minutes (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
    const clock = fakeClock();
    const startedAt = new Date(clock.nowMs() - 10_000).toISOString();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(exited(0)));
    ecs
      .on(DescribeTasksCommand, { cluster: 'eu-cluster' })
      .resolvesOnce({ failures: [{ arn: arnOf('eu'), reason: 'MISSING' }] })
      .resolvesOnce({ failures: [{ arn: arnOf('eu'), reason: 'MISSING' }] })
      .resolves({ tasks: [describedAs(exited(0), arnOf('eu'))] });

    // Act
    const result = await checkTasks(
      { ...state, startedAt },
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.startedAt).toBe(startedAt);
    expect(clock.sleeps).toEqual([5000, 5000]);
  });

  it('fails a task still MISSING five minutes after the phase started', async () => {
    const clock = fakeClock();
    const startedAt = new Date(clock.nowMs() - 290_000).toISOString();
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(running));
    ecs
      .on(DescribeTasksCommand, { cluster: 'eu-cluster' })
      .resolves({ failures: [{ arn: arnOf('eu'), reason: 'MISSING' }] });

    const result = await checkTasks(
      { ...state, startedAt },
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    expect(result.status).toBe('FAILED');
    expect(result.failures.map((failure) => failure.environment)).toEqual(['eu']);
    expect(clock.sleeps).toEqual([5000, 5000]);
  });

  it('describes tasks in batches of 100 per cluster', async () => {
    // Prepare
    const clock = fakeClock();
    const many: TaskPhaseState = {
      ...state,
      tasks: [...Array.from({ length: 150 }, (_, n) => ref('us', n)), ref('eu')],
    };
    ecs.on(DescribeTasksCommand).callsFake(describeEveryTaskAs(exited(0)));

    // Act
    const result = await checkTasks(
      many,
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const calls = ecs
      .commandCalls(DescribeTasksCommand)
      .map((call) => [call.args[0].input.cluster, call.args[0].input.tasks?.length]);
    expect(calls).toEqual([
      ['us-cluster', 100],
      ['us-cluster', 50],
      ['eu-cluster', 1],
    ]);
  });

  it('passes a phase with nothing to run straight through', async () => {
    const clock = fakeClock();
    const empty: TaskPhaseState = { phase: 'migrate', tasks: [], status: 'SUCCEEDED', failures: [] };

    const result = await checkTasks(
      empty,
      { clients, clock, config },
      startWatch({ watchSeconds: 60 }, clock),
    );

    expect(result).toEqual(empty);
    expect(ecs).not.toHaveReceivedAnyCommand();
  });
});
