import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/tail-deploy.js';
import type { DeployState, RollbackState, TaskPhaseState } from '../../lambdas/shared/types.js';
import { FakeClock } from './fake-clock.js';
import { Capture } from './tail-deploy-world.js';

const sfn = mockClient(SFNClient);
const ecs = mockClient(ECSClient);
const codedeploy = mockClient(CodeDeployClient);
const logs = mockClient(CloudWatchLogsClient);

const ARN = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26-9';
const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/us/0a1b2c';
const started = new Date('2026-11-26T08:00:00Z');
const at = (seconds: number) => new Date(started.getTime() + seconds * 1000);

const migrate: TaskPhaseState = {
  phase: 'migrate',
  tasks: [
    {
      environment: 'us',
      step: 'migrate',
      taskArn: TASK,
      log: { logGroup: '/one-off/us', logStream: 'run/app/0a1b2c', region: 'us-east-1' },
    },
  ],
  status: 'RUNNING',
  failures: [],
};
const deploy: DeployState = {
  deployments: { us: { web: 'd-WEB' } },
  status: 'FAILED',
  failures: [
    { environment: 'us', service: 'web', deploymentId: 'd-WEB', status: 'Failed', reason: 'health' },
  ],
};
const rollback: RollbackState = {
  rollbacks: [
    {
      environment: 'us',
      service: 'web',
      deploymentId: 'd-WEB',
      action: 'adopt',
      rollbackDeploymentId: 'd-BACK',
    },
  ],
  status: 'SUCCEEDED',
};

let nextId = 0;
const historyEvent = (seconds: number, type: string, details: Partial<HistoryEvent>): HistoryEvent => ({
  id: ++nextId,
  previousEventId: nextId - 1,
  timestamp: at(seconds),
  type: type as HistoryEvent['type'],
  ...details,
});
const entered = (seconds: number, name: string) =>
  historyEvent(seconds, 'TaskStateEntered', { stateEnteredEventDetails: { name } });
const result = (seconds: number, output: unknown) =>
  historyEvent(seconds, 'LambdaFunctionSucceeded', {
    lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output) },
  });

function rolledBackRun(): HistoryEvent[] {
  nextId = 0;
  return [
    historyEvent(0, 'ExecutionStarted', {
      executionStartedEventDetails: { input: '{"release":"2026-11-26.9"}' },
    }),
    entered(1, 'Migrate'),
    result(2, migrate),
    entered(3, 'Deploy'),
    result(4, deploy),
    entered(5, 'RollBack'),
    result(6, rollback),
    entered(7, 'Announce'),
    result(8, { outcome: 'ROLLED_BACK', detailType: 'Release Rolled Back', summary: 'web failed in us' }),
    historyEvent(9, 'ExecutionFailed', {
      executionFailedEventDetails: {
        error: 'DeploymentFailedError',
        cause: 'us/web failed its health checks',
      },
    }),
  ];
}

const denied = (action: string) =>
  Object.assign(
    new Error(`User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ${action}`),
    {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    },
  );

/** The same run, ending SUCCEEDED after its migration. */
function succeededRun(): HistoryEvent[] {
  nextId = 0;
  return [
    historyEvent(0, 'ExecutionStarted', {
      executionStartedEventDetails: { input: '{"release":"2026-11-26.9"}' },
    }),
    entered(1, 'Migrate'),
    result(2, migrate),
    result(3, { ...migrate, status: 'SUCCEEDED' }),
    entered(4, 'Announce'),
    result(5, { outcome: 'SUCCEEDED', detailType: 'Release Succeeded', summary: 'released' }),
    historyEvent(6, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: '{}' } }),
  ];
}

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

async function tail(
  args: string[],
  options: { tty?: boolean; env?: Record<string, string>; clock?: FakeClock } = {},
) {
  const stdout = new Capture();
  stdout.isTTY = options.tty ?? false;
  const stderr = new Capture();
  const exitCode = await main([ARN, '--poll-interval', '20', ...args], {
    stdout,
    stderr,
    env: options.env ?? {},
    interrupts: () => () => undefined,
    clock: options.clock,
  });
  return { exitCode, stdout, stderr };
}

describe('tail-deploy on a mocked AWS', () => {
  beforeEach(() => {
    sfn.reset();
    ecs.reset();
    codedeploy.reset();
    logs.reset();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: ARN,
      status: 'FAILED',
      startDate: started,
      stopDate: at(9),
      input: '{"release":"2026-11-26.9"}',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: rolledBackRun() });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: TASK,
          lastStatus: 'STOPPED',
          startedAt: at(1),
          stoppedAt: at(3),
          containers: [{ name: 'app', exitCode: 0 }],
        },
      ],
    });
    logs
      .on(GetLogEventsCommand)
      .resolves({ events: [], nextForwardToken: 'f/2' })
      .on(GetLogEventsCommand, { nextToken: undefined })
      .resolves({
        events: [
          { timestamp: at(1).getTime(), message: 'migrating 001_users' },
          { timestamp: at(2).getTime(), message: 'done' },
        ],
        nextForwardToken: 'f/2',
      });
    codedeploy.on(BatchGetDeploymentsCommand).callsFake(async (input) => ({
      deploymentsInfo: (input.deploymentIds ?? []).map((deploymentId: string) =>
        deploymentId === 'd-WEB'
          ? {
              deploymentId,
              status: 'Failed',
              errorInformation: { message: 'the replacement tasks failed their health checks' },
            }
          : { deploymentId, status: 'Succeeded', instanceTerminationWaitTimeStarted: true },
      ),
    }));
  });

  it('reports deployments, the rollback and the outcome, and exits 1 on a rolled back run', async () => {
    // Act
    const { exitCode, stdout, stderr } = await tail([]);
    // Assess
    expect(exitCode).toBe(1);
    expect(stderr.text).toBe('');
    expect(stdout.lines).toEqual([
      '==> Migrate',
      '[us] migrate started (task 0a1b2c, migrate)',
      '==> Deploy',
      '==> RollBack',
      '[us] web rolling back (adopt) d-WEB via d-BACK',
      '==> Announce',
      '[us] migrating 001_users',
      '[us] done',
      expect.stringMatching(
        /^\[us\] web deployment d-WEB Failed: the replacement tasks failed their health checks$/,
      ),
      '[us] web rollback deployment d-BACK Succeeded, traffic shifted',
      '[us] migrate exited 0 after 2.0s',
      'Release 2026-11-26.9 FAILED (ROLLED_BACK) in 9.0s',
      '  DeploymentFailedError: us/web failed its health checks',
      '  [us] migrate: exit 0, 2 lines',
      '  [us] web: Failed (d-WEB)',
      `  ${ARN}`,
    ]);
  });

  it('tells traffic shifted from the ECS target while the deployment is InProgress', async () => {
    // Prepare: CodeDeploy keeps instanceTerminationWaitTimeStarted false for ECS; the target
    // Succeeded while the deployment is InProgress means traffic moved (containers-roadmap#269).
    codedeploy.on(BatchGetDeploymentsCommand).callsFake(async (input) => ({
      deploymentsInfo: (input.deploymentIds ?? []).map((deploymentId: string) => ({
        deploymentId,
        status: 'InProgress',
        instanceTerminationWaitTimeStarted: false,
      })),
    }));
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['us:web'] });
    codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
    });
    // Act
    const { stdout } = await tail([]);
    // Assess
    expect(stdout.lines).toContain('[us] web rollback deployment d-BACK InProgress, traffic shifted');
  });

  it('colours the environment prefix on a terminal, and not when NO_COLOR is set', async () => {
    // Act
    const coloured = await tail([], { tty: true });
    const plain = await tail([], { tty: true, env: { NO_COLOR: '1' } });
    const flagged = await tail(['--no-color'], { tty: true });
    // Assess
    expect(coloured.stdout.text).toContain('\u001b[36m[us]\u001b[0m migrating 001_users');
    expect(plain.stdout.text).not.toContain('\u001b[');
    expect(flagged.stdout.text).not.toContain('\u001b[');
  });

  it('reads only the lines from --since on', async () => {
    // Act
    await tail(['--since', '2026-11-26T08:00:01.500Z']);
    // Assess
    expect(logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
      startFromHead: true,
      startTime: Date.parse('2026-11-26T08:00:01.500Z'),
    });
  });

  it.each([
    ['DescribeExecution', 'states:DescribeExecution'],
    ['GetExecutionHistory', 'states:GetExecutionHistory'],
  ])('exits 3 and names the missing permission when %s is denied', async (operation, action) => {
    // Prepare
    if (operation === 'DescribeExecution') sfn.on(DescribeExecutionCommand).rejects(denied(action));
    else sfn.on(GetExecutionHistoryCommand).rejects(denied(action));
    // Act
    const { exitCode, stderr } = await tail(['--no-color']);
    // Assess
    expect(exitCode).toBe(3);
    expect(stderr.text).toContain(ARN);
    expect(stderr.text).toContain('Region us-east-1');
    expect(stderr.text).toContain(`the caller needs ${action}`);
  });

  it('reports a log stream it may not read, and still ends with the run', async () => {
    // Prepare
    logs.reset();
    logs.on(GetLogEventsCommand).rejects(denied('logs:GetLogEvents'));
    // Act
    const { exitCode, stdout, stderr } = await tail(['--no-color']);
    // Assess
    expect(exitCode).toBe(1);
    expect(stderr.text).toContain('cannot read log stream /one-off/us/run/app/0a1b2c in us-east-1');
    expect(stderr.text).toContain('needs logs:GetLogEvents');
    expect(stdout.text).toContain('[us] migrate exited 0');
  });

  it('without ecs:DescribeTasks, says so and ends the tasks with the run', async () => {
    // Prepare
    ecs.on(DescribeTasksCommand).rejects(denied('ecs:DescribeTasks'));
    // Act
    const { exitCode, stdout, stderr } = await tail(['--no-color']);
    // Assess
    expect(exitCode).toBe(1);
    expect(stderr.text).toContain('DescribeTasks was denied in us-east-1: grant ecs:DescribeTasks');
    expect(stderr.text.match(/DescribeTasks was denied/g)).toHaveLength(1);
    expect(stdout.lines).toContain('[us] done');
    expect(stdout.lines).toContain('[us] migrate stopped without an exit code');
  });

  it('--latest follows the execution started last, though AWS lists closed ones by their stop', async () => {
    // Prepare: the older run stopped after the newer one started, so it is listed first.
    const older = `${ARN.slice(0, ARN.lastIndexOf(':'))}:older`;
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: older,
          stateMachineArn: 'sm',
          name: 'older',
          status: 'FAILED',
          startDate: at(-60),
          stopDate: at(20),
        },
        {
          executionArn: ARN,
          stateMachineArn: 'sm',
          name: 'newer',
          status: 'FAILED',
          startDate: at(0),
          stopDate: at(9),
        },
      ],
    });
    const stdout = new Capture();
    // Act
    const exitCode = await main(
      ['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:Deploy', '--latest', '--json'],
      { stdout, stderr: new Capture(), env: {}, interrupts: () => () => undefined },
    );
    // Assess
    expect(exitCode).toBe(1);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: ARN });
    expect(sfn).not.toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: older });
  });

  describe('when CloudWatch Logs throttles', () => {
    beforeEach(() => {
      sfn.on(DescribeExecutionCommand).resolves({
        executionArn: ARN,
        status: 'SUCCEEDED',
        startDate: started,
        stopDate: at(6),
        input: '{"release":"2026-11-26.9"}',
      });
      sfn.on(GetExecutionHistoryCommand).resolves({ events: succeededRun() });
    });

    it('tells on stderr when throttling holds the lines back, and when it ends; no line is lost', async () => {
      // Prepare: the first 8 reads are throttled, about 20 s of the limiter's growing pauses.
      let calls = 0;
      const answer = {
        events: [
          { timestamp: at(1).getTime(), message: 'migrating 001_users' },
          { timestamp: at(2).getTime(), message: 'done' },
        ],
        nextForwardToken: 'f/2',
      };
      logs.reset();
      logs.on(GetLogEventsCommand).callsFake(async (input: { nextToken?: string }) => {
        calls += 1;
        if (calls <= 8) throw throttled();
        return input.nextToken ? { events: [], nextForwardToken: 'f/2' } : answer;
      });
      // Act
      const { exitCode, stdout, stderr } = await tail(['--no-color'], { clock: new FakeClock() });
      // Assess
      expect(exitCode).toBe(0);
      expect(stderr.text).toMatch(/CloudWatch Logs has been throttling GetLogEvents for \d+(\.\d)?s/);
      expect(stderr.text).toMatch(/CloudWatch Logs answers again after \d+(\.\d)?s of throttling/);
      expect(stdout.lines.filter((line) => line === '[us] migrating 001_users')).toHaveLength(1);
      expect(stdout.lines).toContain('[us] done');
      expect(stdout.text).not.toContain('output incomplete');
    });

    it('gives up at --drain-timeout, names each unread stream on stderr and in the summary, and exits 4', async () => {
      // Prepare
      logs.reset();
      logs.on(GetLogEventsCommand).rejects(throttled());
      // Act
      const human = await tail(['--no-color', '--drain-timeout', '30s'], { clock: new FakeClock() });
      const json = await tail(['--json', '--drain-timeout', '30s'], { clock: new FakeClock() });
      // Assess
      expect(human.exitCode).toBe(4);
      expect(human.stderr.text).toContain(
        'the output is incomplete: 1 log stream(s) were not read to their end',
      );
      expect(human.stderr.text).toContain(
        '[us] migrate: 0 line(s) printed, not drained within 30.0s after the run ended (CloudWatch Logs was throttling GetLogEvents)',
      );
      expect(human.stderr.text).toContain(
        'aws logs get-log-events --region us-east-1 --log-group-name /one-off/us --log-stream-name run/app/0a1b2c --start-from-head',
      );
      expect(human.stdout.text).toContain('Release 2026-11-26.9 SUCCEEDED');
      expect(human.stdout.text).toContain(
        'output incomplete: 1 log stream(s) not read to their end (exit code 4)',
      );
      const summary = JSON.parse(json.stdout.lines.at(-1) ?? '{}');
      expect(json.exitCode).toBe(4);
      expect(summary).toMatchObject({
        type: 'summary',
        status: 'SUCCEEDED',
        exitCode: 4,
        complete: false,
        incomplete: [
          {
            environment: 'us',
            step: 'migrate',
            taskArn: TASK,
            region: 'us-east-1',
            logGroup: '/one-off/us',
            logStream: 'run/app/0a1b2c',
            logLines: 0,
          },
        ],
      });
    });

    it('reports a complete output when every stream was drained', async () => {
      // Act
      const { exitCode, stdout } = await tail(['--json'], { clock: new FakeClock() });
      // Assess
      expect(exitCode).toBe(0);
      expect(JSON.parse(stdout.lines.at(-1) ?? '{}')).toMatchObject({ complete: true, exitCode: 0 });
      expect(JSON.parse(stdout.lines.at(-1) ?? '{}')).not.toHaveProperty('incomplete');
    });
  });
});
