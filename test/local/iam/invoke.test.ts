import { fileURLToPath } from 'node:url';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deployTemplate } from '../../../local/cloudformation.js';
import type { IamReport } from '../../../local/iam/authorizer.js';
import { LocalAws } from '../../../local/local-aws.js';
import { clientConfig, eventually } from '../local-aws-fixture.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const ACCOUNT = '000000000000';

const trust = (service: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
});

const fn = (role: string) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'stepdeploy:handler': 'whoami' },
  Properties: { Timeout: 60, Role: { 'Fn::GetAtt': [role, 'Arn'] } },
});

/** Two functions with a role each; a state machine whose role may invoke only `Granted`; a rule on its failures. */
const template = (withPermission: boolean) => ({
  Resources: {
    GrantedRole: {
      Type: 'AWS::IAM::Role',
      Properties: { AssumeRolePolicyDocument: trust('lambda.amazonaws.com') },
    },
    OtherRole: {
      Type: 'AWS::IAM::Role',
      Properties: { AssumeRolePolicyDocument: trust('lambda.amazonaws.com') },
    },
    Granted: fn('GrantedRole'),
    Other: fn('OtherRole'),
    MachineRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: trust('states.amazonaws.com'),
        Policies: [
          {
            PolicyName: 'invoke',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'lambda:InvokeFunction',
                  Resource: { 'Fn::GetAtt': ['Granted', 'Arn'] },
                },
              ],
            },
          },
        ],
      },
    },
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'who',
        RoleArn: { 'Fn::GetAtt': ['MachineRole', 'Arn'] },
        DefinitionString: {
          'Fn::Sub': JSON.stringify({
            StartAt: 'Granted',
            States: {
              Granted: {
                Type: 'Task',
                Resource: ['${', 'Granted.Arn}'].join(''),
                ResultPath: '$.granted',
                Next: 'Other',
              },
              Other: { Type: 'Task', Resource: ['${', 'Other.Arn}'].join(''), End: true },
            },
          }),
        },
      },
    },
    OnFailure: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: ['FAILED'], stateMachineArn: [{ Ref: 'Machine' }] },
        },
        Targets: [{ Id: 'other', Arn: { 'Fn::GetAtt': ['Other', 'Arn'] } }],
      },
    },
    ...(withPermission
      ? {
          OtherPermission: {
            Type: 'AWS::Lambda::Permission',
            Properties: {
              Action: 'lambda:InvokeFunction',
              FunctionName: { 'Fn::GetAtt': ['Other', 'Arn'] },
              Principal: 'events.amazonaws.com',
              SourceArn: { 'Fn::GetAtt': ['OnFailure', 'Arn'] },
            },
          },
        }
      : {}),
  },
});

let local: LocalAws;

beforeEach(async () => {
  local = await LocalAws.start({ port: 0, timeScale: 100, repoRoot: FIXTURES });
});

afterEach(async () => {
  await local.stop();
});

async function report(): Promise<IamReport> {
  return (await (await fetch(`${local.endpoint}/_local/iam`)).json()) as IamReport;
}

describe('Lambda invocations under IAM', () => {
  it('runs each function with its own role credentials, also while others run at the same time', async () => {
    // Prepare
    await deployTemplate(local, template(true), { stackName: 'who' });
    const [granted, other] = ['Granted', 'Other'].map((id) =>
      local.lambdas.list().find((f) => f.functionName.includes(`-${id}-`)),
    );
    if (!granted || !other) throw new Error('the template deploys two functions');
    // Act: the second invocation starts while the first waits, in the same process.
    const [first, second] = await Promise.all([
      local.lambdas.invoke(granted, { ms: 300 }),
      local.lambdas.invoke(other, { ms: 0 }),
    ]);
    // Assess: Lambda's session is the function name (https://github.com/pulumi/pulumi/issues/6725).
    const session = (f: typeof granted) =>
      `arn:aws:sts::${ACCOUNT}:assumed-role/${f.roleArn?.split('/').pop()}/${f.functionName}`;
    expect(first).toEqual({ arn: session(granted), sessionToken: true });
    expect(second).toEqual({ arn: session(other), sessionToken: true });
  });

  it('fails the Task with Lambda.AWSLambdaException when the state machine role may not invoke the function', async () => {
    // Prepare: https://github.com/awslabs/aws-deployment-framework/issues/460 shows the error and cause.
    const stack = await deployTemplate(local, template(true), { stackName: 'who' });
    const sfn = new SFNClient(clientConfig(local));
    const other = local.lambdas.list().find((f) => f.functionName.includes('-Other-'));
    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, input: '{}' }),
    );
    const ended = await eventually(async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
    // Assess
    expect(ended.status).toBe('FAILED');
    expect(ended.error).toBe('Lambda.AWSLambdaException');
    expect(ended.cause).toMatch(
      new RegExp(
        `^User: arn:aws:sts::${ACCOUNT}:assumed-role/who-MachineRole-[0-9A-F]{12}/[A-Za-z]{32} is not authorized to perform: lambda:InvokeFunction on resource: ${other?.arn} because no identity-based policy allows the lambda:InvokeFunction action \\(Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: [0-9a-f-]{36}; Proxy: null\\)$`,
      ),
    );
    // The rule on the failure invoked Other under its resource-based policy.
    await local.events.settle();
    expect((await report()).principals['events.amazonaws.com']).toEqual({ allowed: 1, denied: [] });
    sfn.destroy();
  });

  it('does not deliver a rule to a function whose resource-based policy does not allow EventBridge', async () => {
    // Prepare
    const stack = await deployTemplate(local, template(false), { stackName: 'who' });
    const sfn = new SFNClient(clientConfig(local));
    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, input: '{}' }),
    );
    await eventually(async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
    await local.events.settle();
    // Assess
    expect((await report()).principals['events.amazonaws.com']).toMatchObject({
      allowed: 0,
      denied: [
        {
          operation: 'lambda.Invoke',
          action: 'lambda:InvokeFunction',
          reason: expect.stringContaining('has no resource-based policy'),
        },
      ],
    });
    sfn.destroy();
  });
});
