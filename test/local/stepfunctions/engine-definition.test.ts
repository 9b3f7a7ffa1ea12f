import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployTemplate } from '../../../local/cloudformation.js';
import { LocalAws } from '../../../local/local-aws.js';
import { engineDefinition } from '../../../local/stepfunctions/engine-definition.js';
import { clientConfig, eventually } from '../local-aws-fixture.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** `${name}`: a placeholder of `DefinitionSubstitutions`. */
const placeholder = (name: string) => ['${', name, '}'].join('');

describe('engineDefinition', () => {
  const retrying = {
    StartAt: 'Try',
    TimeoutSeconds: 3600,
    States: {
      Try: {
        Type: 'Task',
        Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
        Retry: [
          {
            ErrorEquals: ['TransientError'],
            IntervalSeconds: 5,
            BackoffRate: 2,
            MaxAttempts: 6,
            MaxDelaySeconds: 60,
            JitterStrategy: 'FULL',
          },
          { ErrorEquals: ['States.ALL'] },
        ],
        End: true,
      },
    },
  } as unknown as StateMachineDefinition;

  // AWS waits IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, drawn at random up to
  // it with JitterStrategy FULL
  // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error):
  // scaling the definition keeps all of that, only faster.
  it('scales each retrier’s IntervalSeconds and MaxDelaySeconds, keeping BackoffRate, MaxAttempts and the jitter', () => {
    const engine = engineDefinition(retrying, 100);

    expect(engine.TimeoutSeconds).toBe(36);
    expect((engine.States.Try as { Retry: unknown[] }).Retry).toEqual([
      {
        ErrorEquals: ['TransientError'],
        IntervalSeconds: 0.05,
        BackoffRate: 2,
        MaxAttempts: 6,
        MaxDelaySeconds: 0.6,
        JitterStrategy: 'FULL',
      },
      // ASL's default interval is one second (https://states-language.net/spec.html#retrying-after-error).
      { ErrorEquals: ['States.ALL'], IntervalSeconds: 0.01 },
    ]);
  });

  it('leaves a definition run at time scale 1 as it is, but for ResultPath "$"', () => {
    expect(engineDefinition(retrying)).toEqual(retrying);
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html: "$" replaces the input, as no ResultPath does.
  it('drops ResultPath "$" from states and catchers, the default that means the same', () => {
    const definition = {
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
          ResultPath: '$',
          Catch: [
            { ErrorEquals: ['X'], ResultPath: '$', Next: 'B' },
            { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'B' },
          ],
          End: true,
        },
        B: { Type: 'Succeed' },
      },
    } as unknown as StateMachineDefinition;

    expect(engineDefinition(definition).States.A).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      Catch: [
        { ErrorEquals: ['X'], Next: 'B' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'B' },
      ],
      End: true,
    });
  });
});

describe('the local Step Functions with inputs of any JSON type', () => {
  const lambda = (verb: string) => ({
    Type: 'AWS::Lambda::Function',
    Metadata: { 'stepdeploy:handler': verb },
    Properties: { Timeout: 60 },
  });
  const machine = (name: string, definition: Record<string, unknown>) => ({
    Type: 'AWS::StepFunctions::StateMachine',
    Properties: {
      StateMachineName: name,
      Definition: definition,
      DefinitionSubstitutions: {
        Fail: { 'Fn::GetAtt': ['FailFn', 'Arn'] },
        Echo: { 'Fn::GetAtt': ['EchoFn', 'Arn'] },
      },
    },
  });
  const template = {
    Resources: {
      FailFn: lambda('fail'),
      EchoFn: lambda('echo'),
      // A Catch whose ResultPath is "$" makes the error the whole state, whatever the input was.
      Caught: machine('caught', {
        StartAt: 'Try',
        States: {
          Try: {
            Type: 'Task',
            Resource: placeholder('Fail'),
            Parameters: { environment: 'eu' },
            Retry: [
              {
                ErrorEquals: ['TaskFailedError'],
                IntervalSeconds: 2,
                BackoffRate: 3,
                MaxAttempts: 2,
                MaxDelaySeconds: 5,
                JitterStrategy: 'FULL',
              },
            ],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Done' }],
            End: true,
          },
          Done: { Type: 'Pass', End: true },
        },
      }),
      // `$` applied to a null input fails the state; the context object's input does not.
      FromInput: machine('from-input', {
        StartAt: 'Echo',
        States: {
          Echo: { Type: 'Task', Resource: placeholder('Echo'), Parameters: { 'input.$': '$' }, End: true },
        },
      }),
      FromContext: machine('from-context', {
        StartAt: 'Echo',
        States: {
          Echo: {
            Type: 'Task',
            Resource: placeholder('Echo'),
            Parameters: { 'input.$': '$$.Execution.Input' },
            End: true,
          },
        },
      }),
    },
  };

  let local: LocalAws;
  let sfn: SFNClient;
  let machines: Record<string, string>;

  beforeEach(async () => {
    local = await LocalAws.start({ port: 0, timeScale: 100, repoRoot: FIXTURES, iam: false });
    machines = (await deployTemplate(local, template)).stateMachines;
    sfn = new SFNClient(clientConfig(local));
  });

  afterEach(async () => {
    sfn.destroy();
    await local.stop();
  });

  const run = async (machineArn: string, input: string): Promise<DescribeExecutionCommandOutput> => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, input }),
    );
    return eventually(async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
  };

  it.each(['[]', '"x"', '42', 'null', '{"a":1}'])(
    'catches an error into the whole state with ResultPath "$" for input %s, after the retries',
    async (input) => {
      const end = await run(machines.Caught, input);

      expect(end.status).toBe('SUCCEEDED');
      expect(JSON.parse(end.output ?? '')).toEqual({
        Error: 'TaskFailedError',
        Cause: expect.stringContaining('migrate exited 1'),
      });
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: end.executionArn }));
      expect(events?.filter((event) => event.type === 'LambdaFunctionScheduled')).toHaveLength(3);
    },
  );

  // AWS Support: a path applied to a null input is "Unable to apply Path transformation to null or
  // empty input" (https://github.com/awslabs/states-language/issues/29).
  it('fails a state that applies `$` to a null input, uncaught, and runs one reading $$.Execution.Input', async () => {
    const failed = await run(machines.FromInput, 'null');
    const ran = await run(machines.FromContext, 'null');

    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('States.Runtime');
    expect(ran.status).toBe('SUCCEEDED');
    expect(JSON.parse(ran.output ?? '').event).toEqual({ input: null });
  });
});
