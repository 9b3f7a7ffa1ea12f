import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IamReport } from '../../../local/iam/authorizer.js';
import type { LocalAws } from '../../../local/local-aws.js';
import { clientConfig, nodeCommand, startLocal, stopAndAssertNoProcesses } from '../local-aws-fixture.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/migrate-task`;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/admin-task`;
const ecsArn = (resource: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${resource}`;

let local: LocalAws;

/** A role like a handler's: RunTask of one family in one cluster, passing its task role to ECS tasks. */
function putRunnerRole(statements: Array<Record<string, unknown>> = []): void {
  local.iam.putRole({
    name: 'runner',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
      ],
    },
  });
  local.iam.putRolePolicy('runner', 'run', {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: ecsArn('task-definition/migrate:*'),
        Condition: { ArnEquals: { 'ecs:cluster': ecsArn('cluster/allowed') } },
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: TASK_ROLE,
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      ...statements,
    ],
  });
}

/** Credentials of a `runner` session, from STS as any SDK program gets them. */
async function runnerCredentials() {
  const sts = new STSClient(clientConfig(local, REGION));
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/runner`, RoleSessionName: 'test' }),
  );
  sts.destroy();
  return {
    accessKeyId: Credentials?.AccessKeyId ?? '',
    secretAccessKey: Credentials?.SecretAccessKey ?? '',
    sessionToken: Credentials?.SessionToken ?? '',
  };
}

function registerMigrate(family: string, taskRoleArn: string): void {
  local.ecs.registerTaskDefinition(REGION, {
    family,
    taskRoleArn,
    containerDefinitions: [{ name: 'app', image: 'app:1', command: nodeCommand("console.log('ok')") }],
  });
}

/** The error a send rejects with. */
async function failure(send: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await send;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('The call succeeded.');
}

async function report(): Promise<IamReport> {
  return (await (await fetch(`${local.endpoint}/_local/iam`)).json()) as IamReport;
}

const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/runner/test`;

describe('IAM enforced on role sessions', () => {
  beforeEach(async () => {
    ({ local } = await startLocal({}, REGION));
    local.ecs.createCluster(REGION, 'allowed');
    local.ecs.createCluster(REGION, 'other');
    registerMigrate('migrate', TASK_ROLE);
  });

  afterEach(async () => {
    await stopAndAssertNoProcesses(local);
  });

  it('runs a task the role allows, and refuses one in another cluster as ECS words it (AccessDeniedException, 400)', async () => {
    // Prepare: https://github.com/LBHackney-IT/Data-Platform/pull/1818 shows ECS's message.
    putRunnerRole();
    const ecs = new ECSClient({ ...clientConfig(local, REGION), credentials: await runnerCredentials() });
    // Act
    const allowed = await ecs.send(new RunTaskCommand({ cluster: 'allowed', taskDefinition: 'migrate' }));
    const denied = await failure(
      ecs.send(new RunTaskCommand({ cluster: 'other', taskDefinition: 'migrate' })),
    );
    // Assess
    expect(allowed.tasks).toHaveLength(1);
    expect(denied).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: ${SESSION} is not authorized to perform: ecs:RunTask on resource: ${ecsArn('task-definition/migrate:1')} because no identity-based policy allows the ecs:RunTask action`,
    });
    const { principals } = await report();
    expect(principals[SESSION]).toMatchObject({
      allowed: 1,
      denied: [
        {
          operation: 'ecs.RunTask',
          action: 'ecs:RunTask',
          resource: ecsArn('task-definition/migrate:1'),
          reason: expect.stringContaining('matches but its condition does not'),
        },
      ],
    });
    ecs.destroy();
  });

  it('checks iam:PassRole of the task definition roles, and ecs:TagResource with ecs:CreateAction when RunTask tags', async () => {
    // Prepare: RunTask passes the task definition's roles (https://github.com/aws/serverless-application-model/issues/2247)
    // and tags on create need ecs:TagResource (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
    putRunnerRole([{ Effect: 'Allow', Action: 'ecs:RunTask', Resource: ecsArn('task-definition/admin:*') }]);
    registerMigrate('admin', OTHER_ROLE);
    const ecs = new ECSClient({ ...clientConfig(local, REGION), credentials: await runnerCredentials() });
    // Act
    const passRole = await failure(
      ecs.send(new RunTaskCommand({ cluster: 'allowed', taskDefinition: 'admin' })),
    );
    const tagging = await failure(
      ecs.send(
        new RunTaskCommand({
          cluster: 'allowed',
          taskDefinition: 'migrate',
          tags: [{ key: 'stepdeploy:release', value: 'r1' }],
        }),
      ),
    );
    // Assess
    expect(passRole.message).toBe(
      `User: ${SESSION} is not authorized to perform: iam:PassRole on resource: ${OTHER_ROLE} because no identity-based policy allows the iam:PassRole action`,
    );
    expect(tagging.message).toBe(
      `User: ${SESSION} is not authorized to perform: ecs:TagResource on resource: ${ecsArn('task/allowed/*')} because no identity-based policy allows the ecs:TagResource action`,
    );
    expect(local.ecs.allTasks()).toHaveLength(0);
    ecs.destroy();
  });

  it('says "with an explicit deny" when a Deny statement matches', async () => {
    // Prepare: https://github.com/doug-macleod/Pipe-1Dev/issues/13 shows the explicit deny wording.
    putRunnerRole([{ Effect: 'Deny', Action: 'ecs:RunTask', Resource: '*' }]);
    const ecs = new ECSClient({ ...clientConfig(local, REGION), credentials: await runnerCredentials() });
    // Act
    const denied = await failure(
      ecs.send(new RunTaskCommand({ cluster: 'allowed', taskDefinition: 'migrate' })),
    );
    // Assess
    expect(denied.message).toBe(
      `User: ${SESSION} is not authorized to perform: ecs:RunTask on resource: ${ecsArn('task-definition/migrate:1')} with an explicit deny in an identity-based policy`,
    );
    ecs.destroy();
  });

  it('answers AccessDeniedException (400) with the same message shape on CodeDeploy, Logs, Step Functions, EventBridge and SSM', async () => {
    // Prepare: codedeploy https://github.com/ministryofjustice/modernisation-platform/pull/9014,
    // logs https://github.com/elastic/apm-aws-lambda/issues/526, states https://github.com/DataBiosphere/azul/issues/8006,
    // events https://github.com/ministryofjustice/modernisation-platform/pull/1253,
    // ssm https://github.com/aws/aws-dotnet-extensions-configuration/issues/108.
    putRunnerRole();
    const config = { ...clientConfig(local, REGION), credentials: await runnerCredentials() };
    const clients = {
      codedeploy: new CodeDeployClient(config),
      logs: new CloudWatchLogsClient(config),
      sfn: new SFNClient(config),
      events: new EventBridgeClient(config),
      ssm: new SSMClient(config),
    };
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Deploy`;
    // Act
    const denied = await Promise.all([
      failure(
        clients.codedeploy.send(
          new GetDeploymentGroupCommand({ applicationName: 'app', deploymentGroupName: 'web' }),
        ),
      ),
      failure(
        clients.logs.send(new GetLogEventsCommand({ logGroupName: '/app', logStreamName: 'app/app/1' })),
      ),
      failure(clients.sfn.send(new ListExecutionsCommand({ stateMachineArn }))),
      failure(
        clients.events.send(
          new PutEventsCommand({
            Entries: [{ Source: 'stepdeploy', DetailType: 'Release Succeeded', Detail: '{}' }],
          }),
        ),
      ),
      failure(clients.ssm.send(new GetParametersByPathCommand({ Path: '/stepdeploy/Deploy' }))),
    ]);
    // Assess
    const expected = [
      ['codedeploy:GetDeploymentGroup', `arn:aws:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:app/web`],
      ['logs:GetLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app:log-stream:app/app/1`],
      ['states:ListExecutions', stateMachineArn],
      ['events:PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`],
      ['ssm:GetParametersByPath', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/stepdeploy/Deploy`],
    ];
    expect(denied).toEqual(
      expected.map(([action, resource]) => ({
        name: 'AccessDeniedException',
        status: 400,
        message: `User: ${SESSION} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
      })),
    );
    for (const client of Object.values(clients)) client.destroy();
  });

  it('lets credentials STS did not issue act as the administrator', async () => {
    // Prepare
    const ecs = new ECSClient(clientConfig(local, REGION));
    // Act
    const run = await ecs.send(new RunTaskCommand({ cluster: 'other', taskDefinition: 'migrate' }));
    // Assess
    expect(run.tasks).toHaveLength(1);
    expect((await report()).principals).toEqual({});
    ecs.destroy();
  });
});

describe('IAM off', () => {
  afterEach(async () => {
    await stopAndAssertNoProcesses(local);
  });

  it('lets every session do anything and records nothing', async () => {
    // Prepare
    ({ local } = await startLocal({ iam: false }, REGION));
    local.ecs.createCluster(REGION, 'other');
    registerMigrate('migrate', TASK_ROLE);
    putRunnerRole();
    const ecs = new ECSClient({ ...clientConfig(local, REGION), credentials: await runnerCredentials() });
    // Act
    const run = await ecs.send(new RunTaskCommand({ cluster: 'other', taskDefinition: 'migrate' }));
    // Assess
    expect(run.tasks).toHaveLength(1);
    expect(await report()).toMatchObject({ enabled: false, principals: {} });
    ecs.destroy();
  });
});
