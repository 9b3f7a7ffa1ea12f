import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  iamReport,
  releaseNameAt,
  sampleTemplate,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { deployTemplate } from '../../local/cloudformation.js';
import { runBin } from '../cli/tail-deploy-world.js';
import { useSampleAws } from './harness.js';

const ACCOUNT = '000000000000';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/**
 * The sample template with one statement taken out of the inline policy of the role
 * whose logical id starts with `rolePrefix`: the statement granting `action`.
 */
function withoutStatement(rolePrefix: string, action: string): Record<string, unknown> {
  const template = structuredClone(sampleTemplate()) as { Resources: Resources };
  const policy = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      (resource.Properties.Roles as Array<{ Ref?: string }>).some((role) => role.Ref?.startsWith(rolePrefix)),
  );
  const document = policy?.Properties.PolicyDocument as { Statement: Array<{ Action: unknown }> } | undefined;
  if (!document) throw new Error(`The sample template has no policy of a role ${rolePrefix}*.`);
  const before = document.Statement.length;
  document.Statement = document.Statement.filter((statement) => statement.Action !== action);
  if (document.Statement.length !== before - 1) {
    throw new Error(`The policy of ${rolePrefix}* has no single statement granting exactly ${action}.`);
  }
  return template;
}

describe('a synthesized policy missing one statement', () => {
  const aws = useSampleAws({
    template: withoutStatement('DeployStartTasksRole', 'ecs:RunTask'),
    allowDenials: true,
  });

  it('fails the release with AccessDenied naming ecs:RunTask and the task definition', async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'e2e-iam-denied');
    // Act
    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);
    // Assess
    const taskDefinition = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/stepdeploy-demo-us-oneoff:`;
    expect(end.status).toBe('FAILED');
    expect(end.cause).toContain('AccessDeniedException');
    expect(end.cause).toContain(`is not authorized to perform: ecs:RunTask on resource: ${taskDefinition}`);
    const { principals } = await iamReport(aws().endpoint);
    const startTasks = Object.entries(principals).find(([principal]) =>
      principal.includes('DeployStartTasksRole'),
    );
    expect(startTasks?.[1].denied).toContainEqual(
      expect.objectContaining({
        operation: 'ecs.RunTask',
        action: 'ecs:RunTask',
        resource: expect.stringContaining(taskDefinition),
        reason: expect.stringContaining('implicitly denied'),
      }),
    );
    const others = Object.entries(principals).filter(
      ([principal, { denied }]) => denied.length > 0 && !principal.includes('DeployStartTasksRole'),
    );
    expect(others).toEqual([]);
  });
});

/** The policy docs/tail-deploy.md gives, for this account and state machine. */
function documentedTailDeployPolicy(stateMachineName: string): Record<string, unknown> {
  const doc = readFileSync(new URL('../../docs/tail-deploy.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## IAM permissions'));
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!json) throw new Error('docs/tail-deploy.md has no JSON policy under "IAM permissions".');
  return JSON.parse(json.replaceAll('123456789012', ACCOUNT).replaceAll('Deploy*', `${stateMachineName}*`));
}

describe('tail-deploy with the permissions docs/tail-deploy.md documents', () => {
  const aws = useSampleAws();

  it('follows a release to its end as a role with exactly that policy, denied nothing', async () => {
    // Prepare: a role holding the documented policy, assumed through STS.
    const stateMachineName = aws().stateMachineArn.split(':').pop() ?? '';
    await deployTemplate(
      aws().local,
      {
        Resources: {
          Reader: {
            Type: 'AWS::IAM::Role',
            Properties: {
              RoleName: 'tail-deploy-reader',
              AssumeRolePolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              Policies: [
                { PolicyName: 'tail-deploy', PolicyDocument: documentedTailDeployPolicy(stateMachineName) },
              ],
            },
          },
        },
      },
      { stackName: 'tail-deploy-reader' },
    );
    const sts = new STSClient({
      endpoint: aws().endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/tail-deploy-reader`,
        RoleSessionName: 'ci',
      }),
    );
    sts.destroy();
    const release = releaseNameAt(new Date(), 'e2e-iam-tail');
    const executionArn = await startRelease(aws(), release);
    // Act
    const bin = fileURLToPath(new URL('../../bin/tail-deploy.js', import.meta.url));
    const { code, stdout, stderr } = await runBin(
      bin,
      [executionArn, '--poll-interval', '250'],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ENDPOINT_URL: aws().endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: Credentials?.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: Credentials?.SecretAccessKey,
        AWS_SESSION_TOKEN: Credentials?.SessionToken,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
      undefined,
      { inherit: false },
    );
    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^\[eu\] migrations complete: 5 applied$/m);
    expect(stdout).toContain(`Release ${release} SUCCEEDED`);
    const { principals } = await iamReport(aws().endpoint);
    const reader = principals[`arn:aws:sts::${ACCOUNT}:assumed-role/tail-deploy-reader/ci`];
    expect(reader?.allowed).toBeGreaterThan(0);
    expect(reader?.denied).toEqual([]);
  });
});

/** The policy docs/stepdeploy.md gives, for this account and state machine. */
function documentedStepdeployPolicy(stateMachineName: string): Record<string, unknown> {
  const doc = readFileSync(new URL('../../docs/stepdeploy.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## IAM permissions'));
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!json) throw new Error('docs/stepdeploy.md has no JSON policy under "IAM permissions".');
  return JSON.parse(json.replaceAll('123456789012', ACCOUNT).replaceAll('Deploy*', `${stateMachineName}*`));
}

describe('stepdeploy with the permissions docs/stepdeploy.md documents', () => {
  const aws = useSampleAws();

  /** Credentials of a role holding exactly `policy`, assumed through STS. */
  async function assume(roleName: string, policy: Record<string, unknown>) {
    await deployTemplate(
      aws().local,
      {
        Resources: {
          Operator: {
            Type: 'AWS::IAM::Role',
            Properties: {
              RoleName: roleName,
              AssumeRolePolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              Policies: [{ PolicyName: roleName, PolicyDocument: policy }],
            },
          },
        },
      },
      { stackName: roleName },
    );
    const sts = new STSClient({
      endpoint: aws().endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`, RoleSessionName: 'ci' }),
    );
    sts.destroy();
    return Credentials;
  }

  it('releases, lists the history and rolls back as a role with exactly that policy, denied nothing', async () => {
    // Prepare
    const stateMachineName = aws().stateMachineArn.split(':').pop() ?? '';
    const credentials = await assume('stepdeploy-operator', documentedStepdeployPolicy(stateMachineName));
    const bin = fileURLToPath(new URL('../../bin/stepdeploy.js', import.meta.url));
    const run = (args: string[]) =>
      runBin(
        bin,
        args,
        {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ENDPOINT_URL: aws().endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: credentials?.AccessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials?.SecretAccessKey,
          AWS_SESSION_TOKEN: credentials?.SessionToken,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          STEPDEPLOY_STATE_MACHINE: aws().stateMachineArn,
        },
        undefined,
        { inherit: false },
      );
    const release = releaseNameAt(new Date(), 'e2e-iam-cli');

    // Act
    const released = await run([
      'release',
      release,
      '--image',
      `app=stepdeploy-demo/app:${release}`,
      '--poll-interval',
      '250',
    ]);
    const history = await run(['history']);
    const back = await run([
      'rollback',
      '--to',
      release,
      '--release',
      'e2e-iam-back',
      '--poll-interval',
      '250',
    ]);

    // Assess
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toMatch(/^\[eu\] migrations complete: 5 applied$/m);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(new RegExp(`^${release}\\s+succeeded\\s`, 'm'));
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`Release e2e-iam-back (rollback to ${release}) SUCCEEDED`);
    const { principals } = await iamReport(aws().endpoint);
    const operator = principals[`arn:aws:sts::${ACCOUNT}:assumed-role/stepdeploy-operator/ci`];
    expect(operator?.allowed).toBeGreaterThan(0);
    expect(operator?.denied).toEqual([]);
  }, 300_000);
});
