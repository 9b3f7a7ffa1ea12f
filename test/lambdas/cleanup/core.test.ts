import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  CreateDeploymentCommand,
  type CreateDeploymentCommandInput,
  type DeploymentInfo,
  ListDeploymentTargetsCommand,
  StopDeploymentCommand,
  type StopDeploymentCommandInput,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeTasksCommand,
  type DescribeTasksCommandInput,
  ECSClient,
  ListTasksCommand,
  type ListTasksCommandInput,
  StopTaskCommand,
  type StopTaskCommandInput,
} from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { cleanup, handlerOutputOf, requireEveryGroupBack, traceRun } from '../../../lambdas/cleanup/core.js';
import {
  RollbackFailedError,
  RollbackInFlightError,
  TransientError,
} from '../../../lambdas/shared/errors.js';
import { deploymentMarker, rollbackMarker } from '../../../lambdas/shared/markers.js';
import type { DeployState } from '../../../lambdas/shared/types.js';
import { deployment, makeDeps, plan, serveDeployments } from '../shared/deployment-fixtures.js';
import { throttled } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const ecs = mockClient(ECSClient);
const sfn = mockClient(SFNClient);

const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:Deploy:r1';
const detail = { executionArn, status: 'ABORTED' };

let eventId = 0;
function succeeded(output: unknown): HistoryEvent {
  eventId++;
  return {
    id: eventId,
    timestamp: new Date(),
    type: 'LambdaFunctionSucceeded',
    lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output) },
  };
}

const deployState: DeployState = {
  status: 'RUNNING',
  failures: [],
  deployments: { us: { web: 'd-us-web', worker: 'd-us-worker' } },
};

describe('traceRun', () => {
  it('finds the plan and the latest deployments state among handler outputs', () => {
    // Prepare
    const events: HistoryEvent[] = [
      { id: 1, timestamp: new Date(), type: 'ExecutionStarted' },
      succeeded({ runId: 'not-a-plan' }),
      succeeded(plan),
      succeeded({ phase: 'migrate', tasks: [], status: 'SUCCEEDED', failures: [] }),
      succeeded(deployState),
      succeeded({ ...deployState, status: 'FAILED' }),
      {
        id: 99,
        timestamp: new Date(),
        type: 'LambdaFunctionSucceeded',
        lambdaFunctionSucceededEventDetails: { output: 'not json' },
      },
    ];

    // Act
    const trace = traceRun(events);

    // Assess
    expect(trace).toEqual({ plan, deploy: { ...deployState, status: 'FAILED' } });
  });
});

describe('handlerOutputOf', () => {
  const lambdaInvoke = (output: string, resourceType = 'lambda'): HistoryEvent => ({
    id: 1,
    timestamp: new Date(),
    type: 'TaskSucceeded',
    taskSucceededEventDetails: { resourceType, resource: 'invoke', output },
  });

  // A function-ARN task records the result itself; the lambda:invoke integration the Invoke
  // response, the result under Payload (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html).
  it.each([
    ['the result of a function-ARN task', succeeded(plan), plan],
    [
      'the Payload of a lambda:invoke task',
      lambdaInvoke(JSON.stringify({ ExecutedVersion: '$LATEST', Payload: plan, StatusCode: 200 })),
      plan,
    ],
    [
      'nothing from a lambda:invoke response without a Payload',
      lambdaInvoke('{"StatusCode":200}'),
      undefined,
    ],
    ['nothing from another integration', lambdaInvoke(JSON.stringify({ Payload: plan }), 'ecs'), undefined],
    ['nothing from text that is not JSON', lambdaInvoke('not json'), undefined],
  ])('reads %s', (_what, event, expected) => {
    expect(handlerOutputOf(event)).toEqual(expected);
  });

  it('traces a run whose tasks use the lambda:invoke integration as one whose tasks invoke the function', () => {
    const wrapped = (output: unknown) =>
      lambdaInvoke(JSON.stringify({ ExecutedVersion: '$LATEST', Payload: output, StatusCode: 200 }));

    expect(traceRun([wrapped(plan), wrapped(deployState)])).toEqual(
      traceRun([succeeded(plan), succeeded(deployState)]),
    );
    expect(traceRun([wrapped(plan), wrapped(deployState)])).toEqual({ plan, deploy: deployState });
  });
});

describe('cleanup', () => {
  let deployments: DeploymentInfo[];
  let runningTasks: Map<string, string[]>;
  let stopped: (deployment: DeploymentInfo) => void;
  let createdStatus: DeploymentInfo['status'];

  function history(events: HistoryEvent[]): void {
    sfn.on(GetExecutionHistoryCommand).resolves({ events });
  }

  beforeEach(() => {
    codedeploy.reset();
    ecs.reset();
    sfn.reset();
    deployments = [];
    serveDeployments(codedeploy, deployments);
    runningTasks = new Map([
      ['us-cluster', ['t-us-migrate']],
      ['eu-cluster', ['t-eu-migrate']],
    ]);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn, status: 'ABORTED' });
    ecs.on(ListTasksCommand).callsFake((input: ListTasksCommandInput) => ({
      taskArns: input.startedBy === plan.runId ? (runningTasks.get(input.cluster ?? '') ?? []) : [],
    }));
    ecs.on(DescribeTasksCommand).callsFake((input: DescribeTasksCommandInput) => ({
      tasks: (input.tasks ?? []).map((taskArn) => ({
        taskArn,
        startedBy: plan.runId,
        desiredStatus: 'RUNNING',
        lastStatus: 'RUNNING',
      })),
    }));
    ecs.on(StopTaskCommand).callsFake((input: StopTaskCommandInput) => {
      const cluster = input.cluster ?? '';
      runningTasks.set(
        cluster,
        (runningTasks.get(cluster) ?? []).filter((t) => t !== input.task),
      );
      return {};
    });
    // A stop turns the deployment Stopped with CodeDeploy's rollback, which has succeeded by the
    // next look; a deployment of the previous revision likewise.
    stopped = (d) => {
      Object.assign(d, {
        status: 'Stopped',
        rollbackInfo: { rollbackDeploymentId: `${d.deploymentId}-cd-rb` },
      });
      deployments.push(
        deployment(`${d.deploymentId}-cd-rb`, 'us', 'web', {
          status: 'Succeeded',
          creator: 'codeDeployRollback',
        }),
      );
    };
    createdStatus = 'Succeeded';
    codedeploy.on(StopDeploymentCommand).callsFake((input: StopDeploymentCommandInput) => {
      const found = deployments.find((d) => d.deploymentId === input.deploymentId);
      if (found) stopped(found);
      return { status: 'Pending' };
    });
    codedeploy.on(CreateDeploymentCommand).callsFake((input: CreateDeploymentCommandInput) => {
      const created = deployment(`d-rb-${deployments.length}`, 'us', 'worker', {
        description: input.description,
        status: createdStatus,
      });
      deployments.push(created);
      return { deploymentId: created.deploymentId };
    });
  });

  /** A run aborted with us/web in flight and us/worker's deployment succeeded (redeployed on rollback). */
  function abortedWithWorkerOut(): void {
    history([succeeded(plan), succeeded(deployState)]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'InProgress' }),
      deployment('d-us-worker', 'us', 'worker', { status: 'Succeeded' }),
    );
  }

  it('does nothing when the execution ended before Plan returned', async () => {
    // Prepare
    history([{ id: 1, timestamp: new Date(), type: 'ExecutionStarted' }]);

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report).toEqual({
      executionArn,
      executionStatus: 'ABORTED',
      stoppedTasks: [],
      rollbacks: [],
      note: 'the execution ended before Plan returned; it started nothing',
    });
    expect(ecs).not.toHaveReceivedAnyCommand();
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });

  it('stops the run tasks and rolls back its deployments, and a second call does nothing more', async () => {
    // Prepare
    history([succeeded(plan), succeeded(deployState)]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
      }),
      deployment('d-us-worker', 'us', 'worker', {
        status: 'Succeeded',
        description: deploymentMarker('r1', 'us', 'worker'),
      }),
    );
    const first = await cleanup(makeDeps(), detail);
    const callsAfterFirst = {
      stopTask: ecs.commandCalls(StopTaskCommand).length,
      stopDeployment: codedeploy.commandCalls(StopDeploymentCommand).length,
      createDeployment: codedeploy.commandCalls(CreateDeploymentCommand).length,
    };

    // Act
    const second = await cleanup(makeDeps(), detail);

    // Assess
    expect(first.stoppedTasks).toEqual([
      { environment: 'us', taskArn: 't-us-migrate' },
      { environment: 'eu', taskArn: 't-eu-migrate' },
    ]);
    expect(first.rollbacks).toEqual([
      {
        environment: 'us',
        service: 'web',
        deploymentId: 'd-us-web',
        action: 'stop',
        deploymentStatus: 'InProgress',
        rollbackDeploymentId: 'd-us-web-cd-rb',
        status: 'Succeeded',
        back: true,
      },
      {
        environment: 'us',
        service: 'worker',
        deploymentId: 'd-us-worker',
        action: 'redeploy',
        deploymentStatus: 'Succeeded',
        rollbackDeploymentId: 'd-rb-3',
        status: 'Succeeded',
        back: true,
      },
    ]);
    expect(callsAfterFirst).toEqual({ stopTask: 2, stopDeployment: 1, createDeployment: 1 });
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: 'eu-cluster',
      task: 't-eu-migrate',
      reason: 'stepdeploy: execution r1 of release r1 ended ABORTED',
    });
    expect(codedeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      description: rollbackMarker('r1', 'us', 'worker'),
    });
    expect(second.stoppedTasks).toEqual([]);
    expect(second.rollbacks).toEqual([
      {
        environment: 'us',
        service: 'web',
        deploymentId: 'd-us-web',
        action: 'adopt',
        deploymentStatus: 'Stopped',
        rollbackDeploymentId: 'd-us-web-cd-rb',
        status: 'Succeeded',
        back: true,
      },
      {
        environment: 'us',
        service: 'worker',
        deploymentId: 'd-us-worker',
        action: 'redeploy',
        deploymentStatus: 'Succeeded',
        rollbackDeploymentId: 'd-rb-3',
        status: 'Succeeded',
        back: true,
      },
    ]);
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 2);
    expect(codedeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  // A handler the run invoked may still run after the execution ended: a RetireOldWorkers ending
  // the termination wait leaves CodeDeploy's rollback no original task set to go back to, and a
  // stop can come after the deployment succeeded. Ending anywhere but back is not left so.
  it.each([
    [
      "CodeDeploy's rollback failed",
      (d: DeploymentInfo) => {
        Object.assign(d, { status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-cd-rb' } });
        deployments.push(deployment('d-cd-rb', 'us', 'worker', { status: 'Failed' }));
      },
    ],
    [
      'the stop came too late and the deployment succeeded',
      (d: DeploymentInfo) => {
        d.status = 'Succeeded';
      },
    ],
  ])('deploys the previous revision when %s, and follows it until the group is back', async (_what, stop) => {
    // Prepare
    history([succeeded(plan), succeeded({ ...deployState, deployments: { us: { worker: 'd-us-worker' } } })]);
    deployments.push(
      deployment('d-us-worker', 'us', 'worker', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'worker'),
      }),
    );
    stopped = stop;
    createdStatus = 'InProgress';
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });
    const deps = makeDeps();
    const sleep = deps.clock.sleep;
    deps.clock.sleep = async (ms) => {
      // The redeploy succeeds while the cleanup waits between two looks.
      for (const d of deployments)
        if (d.status === 'InProgress' && d.deploymentId !== 'd-us-worker') d.status = 'Succeeded';
      await sleep(ms);
    };

    // Act
    const report = await cleanup(deps, detail);

    // Assess
    expect(report.rollbacks).toEqual([
      expect.objectContaining({
        environment: 'us',
        service: 'worker',
        deploymentId: 'd-us-worker',
        action: 'redeploy',
        rollbackDeploymentId: expect.stringMatching(/^d-rb-/),
        status: 'Succeeded',
        back: true,
      }),
    ]);
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      description: rollbackMarker('r1', 'us', 'worker'),
    });
  });

  it('reports rollbacks still going as its time runs out, which fails the invocation for Lambda to run it again', async () => {
    // Prepare
    abortedWithWorkerOut();
    createdStatus = 'InProgress';
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: [] });
    const deps = makeDeps();

    // Act
    const report = await cleanup(deps, detail);

    // Assess
    expect(report.rollbacks.map((r) => r.back)).toEqual([true, undefined]);
    expect(() => requireEveryGroupBack(report)).toThrow(RollbackInFlightError);
    expect(() => requireEveryGroupBack(report)).toThrow(
      /still going .*: us\/worker \(d-rb-\d+\)\. A retry of the cleanup follows them again/,
    );
    expect(deps.clock.sleeps.reduce((total, ms) => total + ms, 0)).toBeLessThanOrEqual(60_000);
  });

  it('reports a group whose redeploy of the previous revision failed too, which fails the invocation naming it', async () => {
    // Prepare
    abortedWithWorkerOut();
    createdStatus = 'Failed';

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report.rollbacks.map((r) => r.back)).toEqual([true, false]);
    expect(() => requireEveryGroupBack(report)).toThrow(RollbackFailedError);
    expect(() => requireEveryGroupBack(report)).toThrow(
      /could not bring every group back to its previous revision: us\/worker \(d-rb-\d+\)\. Deploy the previous revision/,
    );
    expect(codedeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  it('finds the deployments by marker when aborted before StartDeployments returned, reading every history page', async () => {
    // Prepare
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [{ id: 1, timestamp: new Date(), type: 'ExecutionStarted' }],
        nextToken: 'page-2',
      })
      .resolves({ events: [succeeded(plan)] });
    deployments.push(
      deployment('d-eu-web', 'eu', 'web', {
        status: 'Queued',
        description: deploymentMarker('r1', 'eu', 'web'),
      }),
    );

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report.rollbacks).toEqual([
      {
        environment: 'eu',
        service: 'web',
        deploymentId: 'd-eu-web',
        action: 'stop',
        deploymentStatus: 'Queued',
        rollbackDeploymentId: 'd-eu-web-cd-rb',
        status: 'Succeeded',
        back: true,
      },
    ]);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn, nextToken: 'page-2' });
  });

  it('keeps deployments that had all succeeded and only stops the tasks', async () => {
    // Prepare
    history([succeeded(plan), succeeded({ ...deployState, status: 'SUCCEEDED' })]);
    deployments.push(deployment('d-us-web', 'us', 'web', { status: 'Succeeded' }));

    // Act
    const report = await cleanup(makeDeps(), { executionArn, status: 'FAILED' });

    // Assess
    expect(report.rollbacks).toEqual([]);
    expect(report.stoppedTasks).toHaveLength(2);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(codedeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
  });

  it('keeps deployments whose traffic had moved when the run was aborted in their termination wait', async () => {
    // Prepare: the check had not seen it yet; CodeDeploy shows every target Succeeded while the
    // deployments are InProgress (https://github.com/aws/containers-roadmap/issues/269).
    history([succeeded(plan), succeeded(deployState)]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'Succeeded' }),
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
    );
    codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['us-cluster:us-worker'] });
    codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
      deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
    });

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report.rollbacks).toEqual([]);
    expect(report.note).toMatch(/had succeeded; they are kept/);
    expect(codedeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(codedeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  it('leaves an execution redriven since the event alone', async () => {
    // Prepare: only a redrive runs an ended execution again, and it raises redriveCount.
    sfn.on(DescribeExecutionCommand).resolves({ executionArn, status: 'RUNNING', redriveCount: 1 });
    history([succeeded(plan), succeeded(deployState)]);

    // Act
    const report = await cleanup(makeDeps(), { ...detail, redriveCount: 0 });

    // Assess
    expect(report.note).toBe('the execution was redriven and is RUNNING; nothing to clean up');
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
    expect(ecs).not.toHaveReceivedAnyCommand();
  });

  it('rolls back a first wave that succeeded when the run was aborted before the last wave, and finds what the next one made', async () => {
    // Prepare: us went out in the first wave; the run was aborted while eu's started.
    const wavePlan = {
      ...plan,
      waves: [
        { environments: ['us'], cutover: 'independent' as const },
        { environments: ['eu'], cutover: 'together' as const },
      ],
    };
    history([
      succeeded(wavePlan),
      succeeded({
        ...deployState,
        status: 'SUCCEEDED',
        wave: {
          index: 0,
          of: 2,
          environments: ['us'],
          cutover: 'independent',
          startedAt: '2026-11-26T06:01:00.000Z',
        },
      }),
    ]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'Succeeded' }),
      deployment('d-us-worker', 'us', 'worker', { status: 'Succeeded' }),
      deployment('d-eu-web', 'eu', 'web', {
        status: 'Ready',
        description: deploymentMarker('r1', 'eu', 'web'),
      }),
    );

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report.rollbacks.map((r) => [`${r.environment}/${r.service}`, r.action])).toEqual([
      ['us/web', 'redeploy'],
      ['us/worker', 'redeploy'],
      ['eu/web', 'stop'],
    ]);
  });

  it('leaves alone an execution redriven since, when the event does not say how often it had been', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ executionArn, status: 'RUNNING', redriveCount: 1 });
    history([succeeded(plan), succeeded(deployState)]);

    // Act
    const report = await cleanup(makeDeps(), detail);

    // Assess
    expect(report.note).toBe('the execution was redriven and is RUNNING; nothing to clean up');
    expect(ecs).not.toHaveReceivedAnyCommand();
  });

  // DescribeExecution "is eventually consistent"
  // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
  it('reads a stale RUNNING again, backing off, and cleans up once DescribeExecution catches up', async () => {
    // Prepare
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn, status: 'RUNNING', redriveCount: 0 })
      .resolvesOnce({ executionArn, status: 'RUNNING', redriveCount: 0 })
      .resolves({ executionArn, status: 'ABORTED', redriveCount: 0 });
    history([succeeded(plan), succeeded(deployState)]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', { status: 'InProgress' }),
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
    );
    const deps = makeDeps();

    // Act
    const report = await cleanup(deps, { ...detail, redriveCount: 0 });

    // Assess
    expect(report.executionStatus).toBe('ABORTED');
    expect(report.stoppedTasks).toHaveLength(2);
    expect(deps.clock.sleeps).toEqual([1000, 2000]);
  });

  it('trusts the event when DescribeExecution keeps saying RUNNING with no redrive since', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ executionArn, status: 'RUNNING', redriveCount: 0 });
    history([succeeded(plan), succeeded(deployState)]);
    deployments.push(
      deployment('d-us-web', 'us', 'web', {
        status: 'InProgress',
        description: deploymentMarker('r1', 'us', 'web'),
      }),
      deployment('d-us-worker', 'us', 'worker', { status: 'InProgress' }),
    );
    const deps = makeDeps();

    // Act
    const report = await cleanup(deps, detail);

    // Assess
    expect(report.executionStatus).toBe('ABORTED');
    expect(report.stoppedTasks).toHaveLength(2);
    expect(report.rollbacks).toContainEqual(
      expect.objectContaining({ environment: 'us', service: 'web', action: 'stop' }),
    );
    expect(deps.clock.sleeps).toEqual([1000, 2000, 4000, 8000]);
  });

  it('raises a TransientError naming the call when DescribeExecution is throttled, so Lambda runs it again', async () => {
    sfn.on(DescribeExecutionCommand).rejects(throttled('DescribeExecution'));

    const cleaning = cleanup(makeDeps(), detail);

    await expect(cleaning).rejects.toThrow(TransientError);
    await expect(cleaning).rejects.toThrow(
      `Cleanup: DescribeExecution on ${executionArn} failed (ThrottlingException`,
    );
    expect(ecs).not.toHaveReceivedAnyCommand();
  });
});
