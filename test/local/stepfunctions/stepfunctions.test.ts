import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidName,
  ListExecutionsCommand,
  paginateGetExecutionHistory,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeployedStack, deployTemplate } from '../../../local/cloudformation.js';
import { LocalAws } from '../../../local/local-aws.js';
import { clientConfig, eventually } from '../local-aws-fixture.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const CONFIG = '{"pollSeconds":5}';

const lambda = (verb: string, timeout = 900) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'stepdeploy:handler': verb },
  Properties: {
    Timeout: timeout,
    Environment: { Variables: { STEPDEPLOY_CONFIG: { 'Fn::Join': ['', ['{"pollSeconds":', '5}']] } } },
  },
});

/** `${name}`: a placeholder of `Fn::Sub` or of `DefinitionSubstitutions`. */
const placeholder = (name: string) => ['${', name, '}'].join('');

/** An `Fn::Sub` placeholder for a function's ARN. */
const subArn = (logicalId: string) => placeholder(`${logicalId}.Arn`);

const definition = {
  StartAt: 'Greet',
  States: {
    Greet: {
      Type: 'Task',
      Resource: subArn('EchoFn'),
      Parameters: { 'who.$': '$.who', 'executionArn.$': '$$.Execution.Id' },
      ResultPath: '$.greeting',
      Retry: [
        { ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 },
      ],
      Next: 'Decide',
    },
    Decide: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.mode', StringEquals: 'fail', Next: 'Migrate' },
        { Variable: '$.mode', StringEquals: 'slow', Next: 'Sleep' },
        { Variable: '$.mode', StringEquals: 'impatient', Next: 'Hurry' },
      ],
      Default: 'Done',
    },
    Sleep: {
      Type: 'Task',
      Resource: subArn('SlowFn'),
      Parameters: { ms: 5000 },
      ResultPath: '$.slept',
      Next: 'Done',
    },
    Hurry: {
      Type: 'Task',
      Resource: subArn('SlowFn'),
      Parameters: { ms: 5000 },
      TimeoutSeconds: 1,
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Done' }],
      Next: 'Done',
    },
    Migrate: {
      Type: 'Task',
      Resource: subArn('FailFn'),
      Parameters: { environment: 'eu' },
      Catch: [{ ErrorEquals: ['TaskFailedError'], ResultPath: '$.error', Next: 'Failed' }],
      Next: 'Done',
    },
    Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
    Done: { Type: 'Succeed' },
  },
};

const template = {
  Resources: {
    EchoFn: lambda('echo'),
    FailFn: lambda('fail'),
    SlowFn: lambda('slow'),
    NotifyFn: lambda('notify'),
    // The state machines' role may invoke the functions, as CDK grants it; the rule invokes
    // NotifyFn under the function's resource-based policy.
    MachineRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [
          {
            PolicyName: 'invoke',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'lambda:InvokeFunction',
                  Resource: ['EchoFn', 'FailFn', 'SlowFn', 'ShortFn', 'WatchFn', 'ActFn', 'BigFn'].map(
                    (fn) => ({ 'Fn::GetAtt': [fn, 'Arn'] }),
                  ),
                },
              ],
            },
          },
        ],
      },
    },
    NotifyPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['NotifyFn', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['OnEnd', 'Arn'] },
      },
    },
    PingPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['NotifyFn', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['PingRule', 'Arn'] },
      },
    },
    FlakyPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['FailFn', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['FlakyRule', 'Arn'] },
      },
    },
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'tiny',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        DefinitionString: { 'Fn::Sub': JSON.stringify(definition) },
      },
    },
    Bounded: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'bounded',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          // 100 s at time scale 100: one second, shorter than the task.
          TimeoutSeconds: 100,
          StartAt: 'Sleep',
          States: {
            Sleep: { Type: 'Task', Resource: placeholder('Slow'), Parameters: { ms: 5000 }, End: true },
          },
        },
        DefinitionSubstitutions: { Slow: { 'Fn::GetAtt': ['SlowFn', 'Arn'] } },
      },
    },
    ShortFn: lambda('slow', 1),
    WatchFn: lambda('watch', 60),
    Overrun: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'overrun',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          StartAt: 'Sleep',
          States: {
            Sleep: { Type: 'Task', Resource: placeholder('Short'), Parameters: { ms: 2000 }, End: true },
          },
        },
        DefinitionSubstitutions: { Short: { 'Fn::GetAtt': ['ShortFn', 'Arn'] } },
      },
    },
    Watcher: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'watcher',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          StartAt: 'Watch',
          States: {
            Watch: {
              Type: 'Task',
              Resource: placeholder('Watch'),
              Parameters: { watchSeconds: 600, pollSeconds: 5, lookMs: 10_000 },
              End: true,
            },
          },
        },
        DefinitionSubstitutions: { Watch: { 'Fn::GetAtt': ['WatchFn', 'Arn'] } },
      },
    },
    Integrated: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'integrated',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          StartAt: 'Greet',
          States: {
            Greet: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: placeholder('Echo'), Payload: { 'who.$': '$.who' } },
              End: true,
            },
          },
        },
        DefinitionSubstitutions: { Echo: { 'Fn::GetAtt': ['EchoFn', 'Arn'] } },
      },
    },
    ActFn: lambda('act', 60),
    BigFn: lambda('big', 60),
    Oversized: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'oversized',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          StartAt: 'Big',
          States: {
            Big: {
              Type: 'Task',
              Resource: placeholder('Big'),
              Parameters: { kilobytes: 300 },
              Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
              End: true,
            },
            Caught: { Type: 'Succeed' },
          },
        },
        DefinitionSubstitutions: { Big: { 'Fn::GetAtt': ['BigFn', 'Arn'] } },
      },
    },
    Redrivable: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'redrivable',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        Definition: {
          StartAt: 'Prepare',
          States: {
            Prepare: { Type: 'Pass', Parameters: { 'token.$': '$$.Execution.Name' }, Next: 'Act' },
            Act: { Type: 'Task', Resource: placeholder('Act'), Next: 'Done' },
            Done: { Type: 'Succeed' },
          },
        },
        DefinitionSubstitutions: { Act: { 'Fn::GetAtt': ['ActFn', 'Arn'] } },
      },
    },
    PingRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: { source: ['test.ping'] },
        Targets: [{ Id: 'notify', Arn: { 'Fn::GetAtt': ['NotifyFn', 'Arn'] } }],
      },
    },
    FlakyRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: { source: ['test.flaky'] },
        Targets: [{ Id: 'fail', Arn: { 'Fn::GetAtt': ['FailFn', 'Arn'] } }],
      },
    },
    OnEnd: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: {
            status: ['FAILED', 'ABORTED', 'TIMED_OUT'],
            stateMachineArn: [{ Ref: 'Machine' }, { Ref: 'Bounded' }],
          },
        },
        Targets: [{ Id: 'notify', Arn: { 'Fn::GetAtt': ['NotifyFn', 'Arn'] } }],
      },
    },
  },
};

let local: LocalAws;
let sfn: SFNClient;
let stateMachineArn: string;
let boundedArn: string;
let stack: DeployedStack;

beforeEach(async () => {
  local = await LocalAws.start({ port: 0, timeScale: 100, repoRoot: FIXTURES });
  stack = await deployTemplate(local, template);
  stateMachineArn = stack.stateMachines.Machine;
  boundedArn = stack.stateMachines.Bounded;
  sfn = new SFNClient(clientConfig(local));
});

afterEach(async () => {
  sfn.destroy();
  await local.stop();
});

const ended = (executionArn: string) =>
  eventually<DescribeExecutionCommandOutput>(
    async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    },
    undefined,
    'the execution to end',
  );

async function history(executionArn: string, maxResults = 1000): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory({ client: sfn }, { executionArn, maxResults });
  for await (const page of pages) events.push(...(page.events ?? []));
  return events;
}

const start = async (name: string, input: unknown) =>
  (await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })))
    .executionArn as string;

const notified = (status: string) =>
  eventually(
    async () =>
      local.events
        .list()
        .find(
          (event) =>
            event.source === 'test.notify' && (event.detail as { status?: string }).status === status,
        ),
    undefined,
    `the rule's Lambda to see ${status}`,
  );

describe('Step Functions executions', () => {
  it('runs a Lambda task in process and records the history as AWS shapes it', async () => {
    const executionArn = await start('hello', { who: 'world', mode: 'ok' });

    const described = await ended(executionArn);
    const events = await history(executionArn);

    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output ?? '{}');
    expect(output.greeting.event).toEqual({ who: 'world', executionArn });
    expect(output.greeting.endpoint).toBe(local.endpoint);
    expect(output.greeting.config).toBe(CONFIG);
    expect(output.greeting.timeScale).toBe('100');
    expect(output.greeting.remainingMs).toBeGreaterThan(800_000);
    expect(output.greeting.remainingMs).toBeLessThanOrEqual(900_000);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => [e.id, e.previousEventId])).toEqual(events.map((_, i) => [i + 1, i]));
    expect(events.every((e) => e.timestamp instanceof Date)).toBe(true);
    expect(JSON.parse(events[0].executionStartedEventDetails?.input ?? '')).toEqual({
      who: 'world',
      mode: 'ok',
    });
    expect(events[1].stateEnteredEventDetails?.name).toBe('Greet');
    expect(events[2].lambdaFunctionScheduledEventDetails?.resource).toMatch(
      /^arn:aws:lambda:us-east-1:000000000000:function:stepdeploy-local-EchoFn-[0-9A-F]{12}$/,
    );
    expect(JSON.parse(events[2].lambdaFunctionScheduledEventDetails?.input ?? '')).toEqual({
      who: 'world',
      executionArn,
    });
    expect(JSON.parse(events[4].lambdaFunctionSucceededEventDetails?.output ?? '').event.who).toBe('world');
    expect(JSON.parse(events[5].stateExitedEventDetails?.output ?? '').greeting.event.who).toBe('world');
    expect(JSON.parse(events[10].executionSucceededEventDetails?.output ?? '')).toEqual(output);
  });

  it('retries a Lambda service error and records each attempt', async () => {
    local.faults.add({ kind: 'lambda-failure', verb: 'echo', count: 1 });

    const executionArn = await start('retried', { who: 'again', mode: 'ok' });

    expect((await ended(executionArn)).status).toBe('SUCCEEDED');
    const types = (await history(executionArn)).map((e) => e.type);
    expect(types.slice(0, 7)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
    ]);
    const failed = (await history(executionArn)).find((e) => e.type === 'LambdaFunctionFailed');
    expect(failed?.lambdaFunctionFailedEventDetails?.error).toBe('Lambda.ServiceException');
  });

  it('fails with the handler error, caught by name, and its status change reaches the rule', async () => {
    const executionArn = await start('failing', { who: 'x', mode: 'fail' });

    const described = await ended(executionArn);
    const events = await history(executionArn);

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('TaskFailedError');
    expect(JSON.parse(described.cause ?? '{}')).toMatchObject({
      errorType: 'TaskFailedError',
      errorMessage: 'migrate exited 1 in eu',
    });
    expect(events.map((e) => e.type).slice(-6)).toEqual([
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'TaskStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    expect(events.at(-1)?.executionFailedEventDetails?.error).toBe('TaskFailedError');
    expect((await notified('FAILED')).detail).toEqual({ status: 'FAILED', executionArn });
  });

  it('stops a running execution: ABORTED at once, history closed, rule notified', async () => {
    const executionArn = await start('slow-one', { who: 'x', mode: 'slow' });
    await eventually(
      async () =>
        (await history(executionArn)).some(
          (e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'Sleep',
        )
          ? true
          : undefined,
      undefined,
      'the slow task to start',
    );

    const again = await start('slow-one', { who: 'x', mode: 'slow' });
    const conflict = await start('slow-one', { who: 'y', mode: 'slow' }).catch((error: unknown) => error);
    await sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'stopped by the test' }),
    );

    expect(again).toBe(executionArn);
    expect(conflict).toBeInstanceOf(ExecutionAlreadyExists);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('ABORTED');
    expect(described.stopDate).toBeInstanceOf(Date);
    const last = (await history(executionArn)).at(-1);
    expect(last?.type).toBe('ExecutionAborted');
    expect(last?.executionAbortedEventDetails).toEqual({ error: 'Cancelled', cause: 'stopped by the test' });
    expect((await notified('ABORTED')).detail).toEqual({ status: 'ABORTED', executionArn });
    await expect(start('slow-one', { who: 'x', mode: 'slow' })).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
  });

  // DescribeExecution "is eventually consistent"
  // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
  it('under a describe-lag fault, DescribeExecution still says RUNNING shortly after the execution was stopped, one answer per count', async () => {
    // Prepare
    const executionArn = await start('lagging-one', { who: 'x', mode: 'slow' });
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Cancelled', cause: 'test' }));
    local.faults.add({ kind: 'describe-lag', service: 'sfn', lagMs: 3_600_000, count: 1 });

    // Act
    const lagging = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const caughtUp = await sfn.send(new DescribeExecutionCommand({ executionArn }));

    // Assess
    expect(lagging).toMatchObject({ status: 'RUNNING', redriveCount: 0 });
    expect(lagging.stopDate).toBeUndefined();
    expect(caughtUp.status).toBe('ABORTED');
    expect(local.faults.list()).toEqual([]);
  });

  it('records a task that runs past its TimeoutSeconds as timed out, caught by States.Timeout', async () => {
    const executionArn = await start('impatient', { who: 'x', mode: 'impatient' });

    const described = await ended(executionArn);

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output ?? '{}').error.Error).toBe('States.Timeout');
    expect((await history(executionArn)).map((e) => e.type).slice(-7)).toEqual([
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionTimedOut',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('times out past the (scaled) TimeoutSeconds of the definition', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: boundedArn, name: 'late' }),
    );

    const described = await ended(executionArn as string);

    expect(described.status).toBe('TIMED_OUT');
    expect((await history(executionArn as string)).at(-1)?.type).toBe('ExecutionTimedOut');
    expect((await notified('TIMED_OUT')).detail).toEqual({ status: 'TIMED_OUT', executionArn });
  });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html (name): 1-80
  // characters, no whitespace, brackets, wildcards or the listed punctuation; CodePipeline's action
  // names executions `<prefix>-<36-character id>`.
  it('takes execution names of 80 characters at most, without whitespace or punctuation', async () => {
    const longest = `${'r'.repeat(43)}-${'0'.repeat(36)}`;

    const started = await start(longest, { who: 'a', mode: 'ok' });
    const tooLong = await start(`${longest}x`, { who: 'a', mode: 'ok' }).catch((error: unknown) => error);
    const spaced = await start('release 1', { who: 'a', mode: 'ok' }).catch((error: unknown) => error);

    expect(started.endsWith(`:${longest}`)).toBe(true);
    expect(tooLong).toBeInstanceOf(InvalidName);
    expect(spaced).toBeInstanceOf(InvalidName);
    await ended(started);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts:
  // Lambda stops a function at its timeout; the Node.js runtime reports `Sandbox.Timedout`, which a
  // Lambda task of Step Functions fails with (heygen-com/hyperframes#1021 reads it from TaskFailed).
  it('stops a function at its (scaled) timeout and fails the task with Sandbox.Timedout', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachines.Overrun, name: 'overrun' }),
    );

    const described = await ended(executionArn as string);
    const failed = (await history(executionArn as string)).find((e) => e.type === 'LambdaFunctionFailed');

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('Sandbox.Timedout');
    expect(failed?.lambdaFunctionFailedEventDetails?.error).toBe('Sandbox.Timedout');
    expect(JSON.parse(failed?.lambdaFunctionFailedEventDetails?.cause ?? '{}')).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/^RequestId: \S+ Error: Task timed out after 1\.00 seconds$/),
    });
  });

  it('counts getRemainingTimeInMillis down on the handlers’ scaled clock: a watch with slow looks returns in time', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachines.Watcher, name: 'watcher' }),
    );

    const described = await ended(executionArn as string);

    expect(described.status, `${described.error}: ${described.cause}`).toBe('SUCCEEDED');
    const output = JSON.parse(described.output ?? '{}') as { looks: number; remainingMs: number };
    // 60 s of function, 10 s looks, 5 s polls, 30 s kept back: two looks, about 35 s left.
    expect(output.looks).toBe(2);
    expect(output.remainingMs).toBeGreaterThan(0);
  });

  // The optimized integration records Task* events with resource type `lambda` and resource
  // `invoke`, its output the Invoke response with the result under Payload
  // (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html; heygen-com/hyperframes#1021).
  it('records a lambda:invoke task as Task* events whose output wraps the result in Payload', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachines.Integrated,
        name: 'integrated',
        input: JSON.stringify({ who: 'world' }),
      }),
    );

    const described = await ended(executionArn as string);
    const events = await history(executionArn as string);

    expect(described.status).toBe('SUCCEEDED');
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[2].taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      region: 'us-east-1',
    });
    expect(JSON.parse(events[2].taskScheduledEventDetails?.parameters ?? '{}')).toEqual({
      FunctionName: expect.stringMatching(/^arn:aws:lambda:us-east-1:000000000000:function:/),
      Payload: { who: 'world' },
    });
    expect(events[4].taskSucceededEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke' });
    const response = JSON.parse(events[4].taskSucceededEventDetails?.output ?? '{}');
    expect(response).toMatchObject({ StatusCode: 200, Payload: { event: { who: 'world' } } });
    expect(JSON.parse(described.output ?? '{}')).toEqual(response);
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html (States.DataLimitExceeded):
  // a result larger than the 256 KB payload quota fails the task, and States.ALL does not catch it.
  it('fails a task whose result is larger than 256 KB with States.DataLimitExceeded, past its States.ALL', async () => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachines.Oversized, name: 'oversized' }),
    );

    const described = await ended(executionArn as string);

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.DataLimitExceeded');
  });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html:
  // includeExecutionData false leaves out the inputs and outputs.
  it('leaves inputs and outputs out of the history when includeExecutionData is false', async () => {
    const executionArn = await start('quiet', { who: 'a', mode: 'ok' });
    await ended(executionArn);

    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
    );

    expect(events?.[0].executionStartedEventDetails?.input).toBeUndefined();
    expect(events?.[0].executionStartedEventDetails?.roleArn).toBeDefined();
    expect(events?.find((e) => e.type === 'TaskStateExited')?.stateExitedEventDetails).toEqual({
      name: 'Greet',
      outputDetails: { truncated: false },
    });
  });

  it('lists executions by status and pages the history both ways', async () => {
    const ok = await start('ok', { who: 'a', mode: 'ok' });
    const bad = await start('bad', { who: 'b', mode: 'fail' });
    await ended(ok);
    await ended(bad);

    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED' }),
    );
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 }));
    const full = await history(ok);
    const paged = await history(ok, 3);
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: ok, reverseOrder: true, maxResults: 2 }),
    );

    expect(succeeded.executions?.map((e) => e.executionArn)).toEqual([ok]);
    expect(all.executions).toHaveLength(1);
    expect(all.nextToken).toBeDefined();
    expect(paged.map((e) => e.id)).toEqual(full.map((e) => e.id));
    expect(reversed.events?.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    expect(reversed.nextToken).toBeDefined();
  });
});

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html: an
// execution that FAILED, TIMED_OUT or was ABORTED within 14 days continues from its unsuccessful
// step with that step's input, under the same ARN; the steps that succeeded are not rerun; the
// history goes on with ExecutionRedriven (API_ExecutionRedrivenEventDetails.html); a RUNNING or
// SUCCEEDED execution answers ExecutionNotRedrivable, with DescribeExecution's redriveStatusReason.
describe('RedriveExecution', () => {
  const startRedrivable = async (name: string) =>
    (
      await sfn.send(
        new StartExecutionCommand({ stateMachineArn: stack.stateMachines.Redrivable, name, input: '{}' }),
      )
    ).executionArn as string;

  it('restarts a failed execution from the state that failed, with its input, and not the states before it', async () => {
    // Prepare: Act acts, then fails; nothing catches it.
    const executionArn = await startRedrivable('act-1');
    const failed = await ended(executionArn);
    const before = await history(executionArn);

    // Act
    const redriven = await sfn.send(new RedriveExecutionCommand({ executionArn }));
    const described = await ended(executionArn);
    const events = await history(executionArn);

    // Assess
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ActFailedError', redriveCount: 0 });
    expect(failed.redriveStatus).toBe('REDRIVABLE');
    expect(redriven.redriveDate).toBeInstanceOf(Date);
    const changes = local.events
      .list()
      .filter((event) => (event.detail as { executionArn?: string }).executionArn === executionArn)
      .map((event) => event.detail as { status: string; redriveCount: number; redriveStatus: string });
    expect(
      changes.map(({ status, redriveCount, redriveStatus }) => [status, redriveCount, redriveStatus]),
    ).toEqual([
      ['RUNNING', 0, 'NOT_REDRIVABLE'],
      ['FAILED', 0, 'REDRIVABLE'],
      ['RUNNING', 1, 'NOT_REDRIVABLE'],
      ['SUCCEEDED', 1, 'NOT_REDRIVABLE'],
    ]);
    expect(described).toMatchObject({
      status: 'SUCCEEDED',
      redriveCount: 1,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
    });
    expect(JSON.parse(described.output ?? '{}')).toEqual({ token: 'act-1', calls: 2, actions: 1 });
    expect(events.slice(0, before.length)).toEqual(before);
    const after = events.slice(before.length);
    expect(after[0]).toMatchObject({
      type: 'ExecutionRedriven',
      id: before.length + 1,
      previousEventId: before.length,
      executionRedrivenEventDetails: { redriveCount: 1 },
    });
    expect(after.map((e) => e.type)).toEqual([
      'ExecutionRedriven',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    const actEntered = events.filter((e) => e.stateEnteredEventDetails?.name === 'Act');
    expect(actEntered.map((e) => e.stateEnteredEventDetails?.input)).toEqual([
      '{"token":"act-1"}',
      '{"token":"act-1"}',
    ]);
    expect(events.filter((e) => e.stateEnteredEventDetails?.name === 'Prepare')).toHaveLength(1);
  });

  it('refuses a running or succeeded execution with ExecutionNotRedrivable, and redrives once per client token', async () => {
    const running = await start('running', { who: 'x', mode: 'slow' });
    const refusedRunning = await sfn
      .send(new RedriveExecutionCommand({ executionArn: running }))
      .catch((error: unknown) => error);
    const succeeded = await start('done', { who: 'x', mode: 'ok' });
    await ended(succeeded);
    const refusedSucceeded = await sfn
      .send(new RedriveExecutionCommand({ executionArn: succeeded }))
      .catch((error: unknown) => error);
    const failed = await startRedrivable('act-2');
    await ended(failed);

    const first = await sfn.send(new RedriveExecutionCommand({ executionArn: failed, clientToken: 'once' }));
    const again = await sfn.send(new RedriveExecutionCommand({ executionArn: failed, clientToken: 'once' }));

    expect(refusedRunning).toBeInstanceOf(ExecutionNotRedrivable);
    expect((refusedRunning as Error).message).toMatch(/Execution is RUNNING and cannot be redriven/);
    expect(refusedSucceeded).toBeInstanceOf(ExecutionNotRedrivable);
    expect((refusedSucceeded as Error).message).toMatch(/Execution is SUCCEEDED and cannot be redriven/);
    expect(again.redriveDate).toEqual(first.redriveDate);
    expect((await ended(failed)).redriveCount).toBe(1);
    await sfn.send(new StopExecutionCommand({ executionArn: running }));
  });

  it('refuses an execution that ended more than 14 days (scaled) ago', async () => {
    // Prepare: at this time scale 14 days last about 120 ms.
    const fast = await LocalAws.start({ port: 0, timeScale: 10_000_000, repoRoot: FIXTURES });
    const client = new SFNClient(clientConfig(fast));
    try {
      const { stateMachineArn: failing } = await client.send(
        new CreateStateMachineCommand({
          name: 'failing',
          roleArn: 'arn:aws:iam::000000000000:role/failing',
          definition: JSON.stringify({ StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Boom' } } }),
        }),
      );
      const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: failing }));

      // Act
      const expired = await eventually(async () => {
        const described = await client.send(new DescribeExecutionCommand({ executionArn }));
        return described.redriveStatus === 'NOT_REDRIVABLE' ? described : undefined;
      });
      const refused = await client
        .send(new RedriveExecutionCommand({ executionArn }))
        .catch((error: unknown) => error);

      // Assess
      expect(expired).toMatchObject({
        status: 'FAILED',
        redriveStatusReason: 'Execution redrivable period exceeded',
      });
      expect(refused).toBeInstanceOf(ExecutionNotRedrivable);
    } finally {
      client.destroy();
      await fast.stop();
    }
  });

  it('restarts an aborted execution at the state it was stopped in', async () => {
    const executionArn = await start('aborted', { who: 'x', mode: 'slow' });
    await eventually(
      async () =>
        (await history(executionArn)).some((e) => e.stateEnteredEventDetails?.name === 'Sleep')
          ? true
          : undefined,
      undefined,
      'the slow task to start',
    );
    await sfn.send(new StopExecutionCommand({ executionArn }));

    await sfn.send(new RedriveExecutionCommand({ executionArn }));
    const described = await ended(executionArn);
    const entered = (await history(executionArn)).flatMap((e) => e.stateEnteredEventDetails?.name ?? []);

    expect(described.status).toBe('SUCCEEDED');
    expect(entered).toEqual(['Greet', 'Decide', 'Sleep', 'Sleep', 'Done']);
  });
});

/** Puts one event of `source` on the default bus, through the SDK. */
async function put(source: string, detail: unknown): Promise<void> {
  const events = new EventBridgeClient(clientConfig(local));
  try {
    const output = await events.send(
      new PutEventsCommand({
        Entries: [{ Source: source, DetailType: 'Test', Detail: JSON.stringify(detail) }],
      }),
    );
    expect(output.FailedEntryCount).toBe(0);
  } finally {
    events.destroy();
  }
}

// EventBridge invokes a Lambda target asynchronously; Lambda retries a function error twice, one
// then two minutes apart, and an error of its own for up to 6 hours from 1 s
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). The rule's
// retry policy covers delivery to Lambda only (aws/aws-cdk#25423).
describe('EventBridge rule targets', () => {
  it('invokes a failing function three times in all, then drops the event', async () => {
    await put('test.flaky', { environment: 'eu' });
    await local.events.settle();

    const [invocation] = local.lambdas.asyncInvocations();
    expect(invocation).toMatchObject({ verb: 'fail', status: 'failed' });
    expect(invocation.attempts.map((attempt) => attempt.outcome === 'failed' && attempt.error)).toEqual([
      'TaskFailedError',
      'TaskFailedError',
      'TaskFailedError',
    ]);
  });

  it('retries an error of Lambda itself until the function runs', async () => {
    local.faults.add({ kind: 'lambda-failure', verb: 'notify', count: 2 });

    await put('test.ping', { status: 'PING', executionArn: 'arn:ping' });
    await local.events.settle();

    const [invocation] = local.lambdas.asyncInvocations();
    expect(invocation.status).toBe('succeeded');
    expect(
      invocation.attempts.map((attempt) => (attempt.outcome === 'failed' ? attempt.error : 'ok')),
    ).toEqual(['Lambda.ServiceException', 'Lambda.ServiceException', 'ok']);
    expect(local.events.list().filter((event) => event.source === 'test.notify')).toHaveLength(1);
  });

  it('runs the function twice for an event delivered twice', async () => {
    local.faults.add({ kind: 'duplicate-delivery', detailType: 'Test', count: 1 });

    await put('test.ping', { status: 'PING', executionArn: 'arn:ping' });
    await local.events.settle();

    expect(local.lambdas.asyncInvocations().map((invocation) => invocation.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);
    expect(local.events.list().filter((event) => event.source === 'test.notify')).toHaveLength(2);
  });
});
