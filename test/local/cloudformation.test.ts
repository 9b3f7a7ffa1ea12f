import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import { assembleConfig, CONFIG_PATH_ENV } from '../../lambdas/shared/config.js';
import { deployTemplate } from '../../local/cloudformation.js';
import { LocalAws } from '../../local/local-aws.js';
import { clientConfig } from './local-aws-fixture.js';

let local: LocalAws;
let config: ReturnType<typeof clientConfig>;

beforeEach(async () => {
  local = await LocalAws.start({ port: 0, timeScale: 600 });
  config = clientConfig(local, 'eu-west-1');
});

afterEach(async () => {
  await local.stop();
});

/** `${name}`, an `Fn::Sub` placeholder. */
const placeholder = (name: string) => ['${', name, '}'].join('');

/** Every intrinsic the synthesized templates use, feeding names and one Lambda environment. */
const intrinsics = {
  Parameters: { Prefix: { Type: 'String', Default: 'shop' } },
  Conditions: {
    InEurope: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
    InAmerica: { 'Fn::Not': [{ Condition: 'InEurope' }] },
  },
  Resources: {
    Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
    Cluster: {
      Type: 'AWS::ECS::Cluster',
      Properties: { ClusterName: { 'Fn::Sub': `${placeholder('Prefix')}-${placeholder('AWS::Region')}` } },
    },
    OnlyInAmerica: {
      Type: 'AWS::ECS::Cluster',
      Condition: 'InAmerica',
      Properties: { ClusterName: 'us-only' },
    },
    Logs: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: {
          'Fn::Join': ['/', ['', { Ref: 'Prefix' }, { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }]],
        },
        RetentionInDays: { 'Fn::If': ['InEurope', 30, { Ref: 'AWS::NoValue' }] },
      },
    },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Metadata: { 'stepdeploy:handler': 'plan' },
      Properties: {
        Timeout: 60,
        Environment: {
          Variables: {
            CLUSTER_ARN: { 'Fn::GetAtt': ['Cluster', 'Arn'] },
            ROLE_ARN: { 'Fn::GetAtt': ['Role', 'Arn'] },
            LOGS: {
              'Fn::Sub': [`${placeholder('Group')}:${placeholder('!Literal')}`, { Group: { Ref: 'Logs' } }],
            },
            WHERE: { 'Fn::If': ['InEurope', 'europe', 'elsewhere'] },
            DROPPED: { Ref: 'AWS::NoValue' },
          },
        },
      },
    },
  },
};

describe('deployTemplate', () => {
  it('resolves Ref, GetAtt, Join, Sub, Select, Split, If and conditions to local names and ARNs', async () => {
    const stack = await deployTemplate(local, intrinsics, { region: 'eu-west-1', stackName: 'shop' });

    const ecs = new ECSClient(config);
    const logs = new CloudWatchLogsClient(config);
    const { clusters } = await ecs.send(new DescribeClustersCommand({ clusters: ['shop-eu-west-1'] }));
    const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/shop' }));
    ecs.destroy();
    logs.destroy();
    const fn = local.lambdas.find(stack.resources.Fn.physicalId);

    expect(clusters?.map((c) => c.clusterArn)).toEqual([
      'arn:aws:ecs:eu-west-1:000000000000:cluster/shop-eu-west-1',
    ]);
    expect(logGroups?.map((g) => [g.logGroupName, g.retentionInDays])).toEqual([['/shop/b', 30]]);
    expect(stack.resources.OnlyInAmerica).toBeUndefined();
    expect(stack.resources.Role).toMatchObject({ type: 'AWS::IAM::Role', modelled: true });
    expect(local.iam.role(stack.resources.Role.physicalId)?.arn).toBe(fn?.environment.ROLE_ARN);
    expect(fn?.arn).toBe(`arn:aws:lambda:eu-west-1:000000000000:function:${stack.resources.Fn.physicalId}`);
    expect(stack.resources.Fn.physicalId).toMatch(/^shop-Fn-[0-9A-F]{12}$/);
    expect(fn?.verb).toBe('plan');
    expect(fn?.timeoutSeconds).toBe(60);
    expect(fn?.environment).toEqual({
      CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:000000000000:cluster/shop-eu-west-1',
      ROLE_ARN: expect.stringMatching(/^arn:aws:iam::000000000000:role\/shop-Role-[0-9A-F]{12}$/),
      LOGS: `/shop/b:${placeholder('Literal')}`,
      WHERE: 'europe',
    });
    expect(() => stack.stateMachineArn).toThrow(/0 state machines/);
  });

  it('names the resource and the function it cannot resolve', async () => {
    const template = {
      Resources: {
        Logs: {
          Type: 'AWS::Logs::LogGroup',
          Properties: { LogGroupName: { 'Fn::ImportValue': 'shared-name' } },
        },
      },
    };

    await expect(deployTemplate(local, template)).rejects.toThrow(
      /Logs \(AWS::Logs::LogGroup\).*Logs\.LogGroupName: Fn::ImportValue is not an intrinsic function/,
    );
  });

  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html:
  // Ref returns the alarm's name, Fn::GetAtt Arn its ARN.
  it('creates AWS::CloudWatch::Alarm metric alarms; Ref is the name, GetAtt Arn the ARN', async () => {
    const stack = await deployTemplate(
      local,
      {
        Resources: {
          Alarm: {
            Type: 'AWS::CloudWatch::Alarm',
            Properties: {
              MetricName: 'HTTPCode_Target_5XX_Count',
              Namespace: 'AWS/ApplicationELB',
              Statistic: 'Sum',
              Period: 60,
              EvaluationPeriods: 1,
              Threshold: 1,
              ComparisonOperator: 'GreaterThanOrEqualToThreshold',
              TreatMissingData: 'notBreaching',
              Dimensions: [{ Name: 'LoadBalancer', Value: 'app/eu/0123' }],
            },
          },
          Named: {
            Type: 'AWS::CloudWatch::Alarm',
            Properties: {
              AlarmName: 'eu-latency',
              MetricName: 'TargetResponseTime',
              Namespace: 'AWS/ApplicationELB',
              Statistic: 'Average',
              Period: 60,
              EvaluationPeriods: 3,
              Threshold: 2,
              ComparisonOperator: 'GreaterThanThreshold',
            },
          },
          Param: {
            Type: 'AWS::SSM::Parameter',
            Properties: {
              Type: 'String',
              Name: '/alarm',
              Value: { 'Fn::Join': [' ', [{ Ref: 'Alarm' }, { 'Fn::GetAtt': ['Named', 'Arn'] }]] },
            },
          },
        },
      },
      { region: 'eu-west-1', stackName: 'alarms' },
    );

    const cloudwatch = new CloudWatchClient(config);
    try {
      const generated = stack.resources.Alarm?.physicalId ?? '';
      const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({}));
      expect(MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual(
        [
          [generated, 'OK'],
          ['eu-latency', 'INSUFFICIENT_DATA'],
        ].sort(),
      );
      expect(local.ssm.getParameter('eu-west-1', '/alarm').Value).toBe(
        `${generated} arn:aws:cloudwatch:eu-west-1:000000000000:alarm:eu-latency`,
      );
    } finally {
      cloudwatch.destroy();
    }
  });

  it('deploys the synthesized sample stack: clusters, services with running tasks, groups, functions, state machine, rule', async () => {
    const template = synthesizeSampleTemplate();

    const stack = await deployTemplate(local, template);

    const regional = { ...config, region: stack.region };
    const ecs = new ECSClient(regional);
    const codedeploy = new CodeDeployClient(regional);
    const sfn = new SFNClient(regional);
    const events = new EventBridgeClient(regional);
    const ssm = new SSMClient(regional);
    try {
      for (const env of ['us', 'eu', 'au']) {
        const cluster = `stepdeploy-demo-${env}`;
        const { services } = await ecs.send(
          new DescribeServicesCommand({ cluster, services: ['web', 'worker'] }),
        );
        expect(services?.map((s) => [s.serviceName, s.deploymentController?.type, s.desiredCount])).toEqual([
          ['web', 'CODE_DEPLOY', 2],
          ['worker', 'CODE_DEPLOY', 1],
        ]);
        const { taskArns } = await ecs.send(new ListTasksCommand({ cluster, serviceName: 'web' }));
        expect(taskArns).toHaveLength(2);
        const { deploymentGroupInfo: group } = await codedeploy.send(
          new GetDeploymentGroupCommand({
            applicationName: `stepdeploy-demo-${env}`,
            deploymentGroupName: `stepdeploy-demo-${env}-web`,
          }),
        );
        expect(group?.ecsServices).toEqual([{ clusterName: cluster, serviceName: 'web' }]);
        expect(
          group?.blueGreenDeploymentConfiguration?.terminateBlueInstancesOnDeploymentSuccess
            ?.terminationWaitTimeInMinutes,
        ).toBe(5);
        expect(group?.autoRollbackConfiguration?.enabled).toBe(true);
        expect(group?.autoRollbackConfiguration?.events).toEqual(
          expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST']),
        );
      }

      const machine = await sfn.send(
        new DescribeStateMachineCommand({ stateMachineArn: stack.stateMachineArn }),
      );
      const resources = [...(machine.definition ?? '').matchAll(/"Resource":"([^"]+)"/g)].map((m) => m[1]);
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(local.lambdas.find(resource)?.arn).toBe(resource);

      const verbs = local.lambdas.list().map((fn) => fn.verb);
      expect(verbs).toEqual(
        expect.arrayContaining(['plan', 'start-deployments', 'check-deployments', 'cleanup']),
      );
      const path = local.lambdas.list()[0].environment[CONFIG_PATH_ENV];
      const { Parameters = [] } = await ssm.send(
        new GetParametersByPathCommand({ Path: path, Recursive: true }),
      );
      const deployConfig = assembleConfig(path, Parameters);
      expect(deployConfig.environments.map((e) => e.cluster)).toEqual([
        'stepdeploy-demo-us',
        'stepdeploy-demo-eu',
        'stepdeploy-demo-au',
      ]);

      const { Rules } = await events.send(new ListRulesCommand({}));
      const cleanup = Rules?.find((rule) => rule.EventPattern?.includes('aws.states'));
      expect(JSON.parse(cleanup?.EventPattern ?? '{}').detail.stateMachineArn).toEqual([
        stack.stateMachineArn,
      ]);
    } finally {
      for (const client of [ecs, codedeploy, sfn, events, ssm]) client.destroy();
    }
  }, 180_000);
});
