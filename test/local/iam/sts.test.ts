import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SampleAws, startSampleAws } from '../../../examples/demo/sample-aws.js';
import type { LocalAws } from '../../../local/local-aws.js';
import { awsCli, type CliCredentials, type CliResult, LOCAL_ADMIN } from '../../aws-cli.js';
import { clientConfig, startLocal } from '../local-aws-fixture.js';

const ACCOUNT = '000000000000';
const TRUST_ACCOUNT = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
  ],
};
const TRUST_LAMBDA = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

async function failure(send: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await send;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('The call succeeded.');
}

describe('STS on the query protocol, through the SDK (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)', () => {
  let local: LocalAws;
  let admin: STSClient;

  beforeEach(async () => {
    ({ local } = await startLocal());
    admin = new STSClient(clientConfig(local));
    local.iam.putRole({ name: 'deployer', trustPolicy: TRUST_ACCOUNT });
    local.iam.putRolePolicy('deployer', 'assume', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
    });
    local.iam.putRole({ name: 'handler', trustPolicy: TRUST_LAMBDA });
  });

  afterEach(async () => {
    admin.destroy();
    await local.stop();
  });

  it('answers GetCallerIdentity for the administrator and for an assumed-role session', async () => {
    // Act
    const root = await admin.send(new GetCallerIdentityCommand({}));
    const assumed = await admin.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/deployer`, RoleSessionName: 'ci-42' }),
    );
    const session = new STSClient({
      ...clientConfig(local),
      credentials: {
        accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
        secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
        sessionToken: assumed.Credentials?.SessionToken,
      },
    });
    const self = await session.send(new GetCallerIdentityCommand({}));
    // Assess
    expect(root).toMatchObject({ Arn: `arn:aws:iam::${ACCOUNT}:root`, Account: ACCOUNT, UserId: ACCOUNT });
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci-42`);
    expect(assumed.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:ci-42$/);
    expect(assumed.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(assumed.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    expect(self).toMatchObject({
      Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci-42`,
      Account: ACCOUNT,
      UserId: assumed.AssumedRoleUser?.AssumedRoleId,
    });
    session.destroy();
  });

  it('refuses a session a role whose trust policy does not name it (AccessDenied, 403), and a malformed session name', async () => {
    // Prepare: https://github.com/Netflix/security_monkey/issues/77 shows the ErrorResponse.
    const assumed = await admin.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/deployer`, RoleSessionName: 'ci' }),
    );
    const session = new STSClient({
      ...clientConfig(local),
      credentials: {
        accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
        secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
        sessionToken: assumed.Credentials?.SessionToken,
      },
    });
    const handlerRole = `arn:aws:iam::${ACCOUNT}:role/handler`;
    // Act
    const untrusted = await failure(
      session.send(new AssumeRoleCommand({ RoleArn: handlerRole, RoleSessionName: 'ci' })),
    );
    const unknown = await failure(
      admin.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/nope`, RoleSessionName: 'ci' }),
      ),
    );
    const malformed = await failure(
      admin.send(new AssumeRoleCommand({ RoleArn: handlerRole, RoleSessionName: 'a b' })),
    );
    // Assess
    expect(untrusted).toEqual({
      name: 'AccessDenied',
      status: 403,
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci is not authorized to perform: sts:AssumeRole on resource: ${handlerRole}`,
    });
    expect(unknown).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(malformed).toMatchObject({ name: 'ValidationError', status: 400 });
    session.destroy();
  });
});

describe("a handler's role through the AWS CLI v2", () => {
  let aws: SampleAws;

  beforeAll(async () => {
    aws = await startSampleAws({ timeScale: 100 });
  }, 240_000);

  afterAll(async () => {
    await aws?.stop();
  }, 60_000);

  function cli(credentials: CliCredentials, ...args: string[]): Promise<CliResult> {
    return awsCli(aws.endpoint, args, credentials);
  }

  it('assumes the CheckTasks role: what the role is granted answers, anything else is denied', async () => {
    // Prepare
    const checkTasks = aws.local.lambdas.list().find((fn) => fn.verb === 'check-tasks');
    const roleArn = checkTasks?.roleArn ?? '';
    const configPath = checkTasks?.environment.STEPDEPLOY_CONFIG_PATH ?? '';
    // Act
    const assumed = await cli(
      LOCAL_ADMIN,
      'sts',
      'assume-role',
      '--role-arn',
      roleArn,
      '--role-session-name',
      'ci',
    );
    const credentials = assumed.ok
      ? (
          assumed.json as {
            Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
          }
        ).Credentials
      : undefined;
    const session = {
      accessKeyId: credentials?.AccessKeyId ?? '',
      secretAccessKey: credentials?.SecretAccessKey ?? '',
      sessionToken: credentials?.SessionToken ?? '',
    };
    const [identity, granted, runTask] = await Promise.all([
      cli(session, 'sts', 'get-caller-identity'),
      cli(session, 'ssm', 'get-parameters-by-path', '--path', configPath, '--recursive'),
      cli(
        session,
        'ecs',
        'run-task',
        '--cluster',
        'stepdeploy-demo-us',
        '--task-definition',
        'stepdeploy-demo-us-oneoff',
      ),
    ]);
    // Assess
    const roleName = roleArn.split('/').pop();
    expect(assumed.ok, assumed.ok ? '' : assumed.stderr).toBe(true);
    expect(identity).toMatchObject({
      ok: true,
      json: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/ci` },
    });
    expect(granted).toMatchObject({
      ok: true,
      json: { Parameters: expect.arrayContaining([expect.anything()]) },
    });
    expect(runTask).toMatchObject({
      ok: false,
      stderr: expect.stringContaining(
        `An error occurred (AccessDeniedException) when calling the RunTask operation: User: arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/ci is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/stepdeploy-demo-us-oneoff:`,
      ),
    });
  });
});
