import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { describe, expect, it } from 'vitest';
import {
  DeployOrchestrator,
  type DeployOrchestratorProps,
  HANDLER_METADATA_KEY,
  type OrchestratorEnvironment,
} from '../../infra/deploy-orchestrator.js';
import { readyWaitOf } from '../../infra/resolve-props.js';
import { type Template as Cfn, extractDefinition } from '../../statemachine/asl.js';
import { testEnvironment, testStack } from './fixtures.js';

/**
 * An environment whose `web` deployment group is defined in the stack (so synth can read its
 * ready option), with a deployment approval wait when `approvalWait` is given.
 */
function ownedEnvironment(stack: Stack, name: string, approvalWait?: Duration): OrchestratorEnvironment {
  const env = testEnvironment(stack, name);
  const vpc = env.cluster.vpc;
  const alb = new elbv2.ApplicationLoadBalancer(stack, `${name}Alb`, { vpc });
  const targetGroup = (color: string) =>
    new elbv2.ApplicationTargetGroup(stack, `${name}${color}`, {
      vpc,
      port: 3000,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
    });
  const blue = targetGroup('Blue');
  const listener = alb.addListener(`${name}Listener`, { port: 80, open: false, defaultTargetGroups: [blue] });
  const service = env.services[0]?.service as ecs.FargateService;
  const deploymentGroup = new codedeploy.EcsDeploymentGroup(stack, `${name}OwnGroup`, {
    service,
    blueGreenDeploymentConfig: {
      blueTargetGroup: blue,
      greenTargetGroup: targetGroup('Green'),
      listener,
      deploymentApprovalWaitTime: approvalWait,
    },
  });
  return {
    ...env,
    services: [{ ...env.services[0], deploymentGroup } as OrchestratorEnvironment['services'][0]],
  };
}

function alarmOf(stack: Stack, name: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(stack, `${name}Alarm`, {
    alarmName: `${name}-5xx`,
    metric: new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName: 'HTTPCode_Target_5XX_Count',
    }),
    threshold: 1,
    evaluationPeriods: 1,
  });
}

function orchestrate(
  stack: Stack,
  props: Partial<DeployOrchestratorProps> & Pick<DeployOrchestratorProps, 'environments'>,
) {
  return new DeployOrchestrator(stack, 'Deploy', props);
}

describe('waves and cut-over', () => {
  it('orders the waves by number and cuts over together the waves whose groups all wait in Ready', () => {
    // Prepare
    const stack = testStack();

    // Act
    const orchestrator = orchestrate(stack, {
      environments: [
        { ...ownedEnvironment(stack, 'eu', Duration.hours(1)), wave: 5 },
        { ...ownedEnvironment(stack, 'us'), wave: 0 },
        { ...ownedEnvironment(stack, 'au', Duration.hours(1)), wave: 5 },
        { ...testEnvironment(stack, 'jp'), wave: 9 },
      ],
      bakeTime: Duration.minutes(10),
      rollbackScope: 'wave',
    });

    // Assess
    expect(orchestrator.config).toMatchObject({
      waves: [
        { environments: ['us'], cutover: 'independent' },
        { environments: ['eu', 'au'], cutover: 'together' },
        // An imported group: Plan reads it.
        { environments: ['jp'], cutover: 'detect' },
      ],
      bakeSeconds: 600,
      rollbackScope: 'wave',
    });
  });

  it('reads the ready option off the CfnDeploymentGroup of a group of the app, and not of an imported one', () => {
    const stack = testStack();

    expect(readyWaitOf(ownedEnvironment(stack, 'us', Duration.minutes(30)).services[0].deploymentGroup)).toBe(
      true,
    );
    expect(readyWaitOf(ownedEnvironment(stack, 'eu').services[0].deploymentGroup)).toBe(false);
    expect(readyWaitOf(testEnvironment(stack, 'au').services[0].deploymentGroup)).toBeUndefined();
  });

  it("refuses cutover 'together' at synth for a group of the app without a ready wait, naming it and the fix", () => {
    const stack = testStack();

    expect(() =>
      orchestrate(stack, {
        environments: [ownedEnvironment(stack, 'us', Duration.hours(1)), ownedEnvironment(stack, 'eu')],
        cutover: 'together',
      }),
    ).toThrow(
      /cutover is 'together', but deployment group Test\/euOwnGroup \(eu\/web\) has no ready wait.*deploymentApprovalWaitTime.*'independent'/,
    );
  });

  it("leaves an imported group to Plan with cutover 'together', and lets Plan read it", () => {
    // Prepare
    const stack = testStack();

    // Act
    const orchestrator = orchestrate(stack, {
      environments: [testEnvironment(stack, 'us')],
      cutover: 'together',
    });

    // Assess
    expect(orchestrator.config.waves).toEqual([{ environments: ['us'], cutover: 'verify' }]);
    const statements = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const planPolicy = Object.values(statements).find((policy) =>
      JSON.stringify(policy).includes('codedeploy:GetDeploymentGroup'),
    );
    expect(JSON.stringify(planPolicy)).toContain('PlanRole');
  });

  it("cuts over independently with cutover 'independent', whatever the groups", () => {
    const stack = testStack();

    const orchestrator = orchestrate(stack, {
      environments: [ownedEnvironment(stack, 'us', Duration.hours(1))],
      cutover: 'independent',
    });

    expect(orchestrator.config.waves).toEqual([{ environments: ['us'], cutover: 'independent' }]);
  });

  it.each([
    [
      'a negative wave',
      (stack: Stack) => ({ environments: [{ ...testEnvironment(stack, 'us'), wave: -1 }] }),
      /environment 'us' has wave -1; use an integer, 0 or more/,
    ],
    [
      'a fractional wave',
      (stack: Stack) => ({ environments: [{ ...testEnvironment(stack, 'us'), wave: 1.5 }] }),
      /environment 'us' has wave 1\.5/,
    ],
    [
      'an unknown cut-over',
      (stack: Stack) => ({ environments: [testEnvironment(stack, 'us')], cutover: 'sometimes' as never }),
      /cutover is 'sometimes'; use 'together' or 'independent'/,
    ],
    [
      'an unknown rollback scope',
      (stack: Stack) => ({ environments: [testEnvironment(stack, 'us')], rollbackScope: 'some' as never }),
      /rollbackScope is 'some'; use 'all' or 'wave'/,
    ],
    [
      'a bake as long as the run',
      (stack: Stack) => ({ environments: [testEnvironment(stack, 'us')], bakeTime: Duration.hours(6) }),
      /bakeTime \(6 hours\) is not shorter than timeout \(6 hours\)/,
    ],
    [
      'an alarm of another Region',
      (stack: Stack) => ({
        environments: [
          {
            ...testEnvironment(stack, 'us'),
            alarms: [
              cloudwatch.Alarm.fromAlarmArn(
                stack,
                'Far',
                'arn:aws:cloudwatch:eu-west-1:000000000000:alarm:far',
              ),
            ],
          },
        ],
      }),
      /environment 'us' watches alarm arn:aws:cloudwatch:eu-west-1:000000000000:alarm:far, of Region eu-west-1; its alarms are read in its own Region \(us-east-1\)/,
    ],
    [
      'more alarms than CloudWatch describes by name',
      (stack: Stack) => ({
        environments: [
          {
            ...testEnvironment(stack, 'us'),
            alarms: Array.from({ length: 101 }, (_, i) =>
              cloudwatch.Alarm.fromAlarmName(stack, `A${i}`, `a-${i}`),
            ),
          },
        ],
      }),
      /environment 'us' has 101 alarms; CloudWatch describes 100 at most/,
    ],
  ])('refuses %s, naming the bad value', (_name, props, message) => {
    const stack = testStack();
    expect(() => orchestrate(stack, props(stack) as DeployOrchestratorProps)).toThrow(message);
  });
});

describe('alarms', () => {
  it('writes the alarm names to the environment and lets CheckDeploy and Bake read those alarms only', () => {
    // Prepare
    const stack = testStack();
    const env = testEnvironment(stack, 'us');

    const alarm = alarmOf(stack, 'us');

    // Act
    const orchestrator = orchestrate(stack, { environments: [{ ...env, alarms: [alarm] }] });

    // Assess
    expect(stack.resolve(orchestrator.config.environments[0]?.alarms)).toEqual([
      { Ref: stack.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm) },
    ]);
    const json = Template.fromStack(stack).toJSON() as {
      Resources: Record<
        string,
        { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
      >;
    };
    const alarmArn = {
      'Fn::GetAtt': [stack.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm), 'Arn'],
    };
    for (const verb of ['check-deployments', 'check-bake']) {
      const fn = Object.values(json.Resources).find((r) => r.Metadata?.[HANDLER_METADATA_KEY] === verb);
      if (!fn) throw new Error(`no function for ${verb}`);
      const role = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const statements = Object.values(json.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
        .flatMap(
          (r) => (r.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
        );
      expect(statements, verb).toContainEqual({
        Effect: 'Allow',
        Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
        Resource: alarmArn,
      });
    }
  });

  it('reads alarms it cannot tell are metric alarms (imported, composite) on *, as CloudWatch requires for composite alarms', () => {
    const stack = testStack();
    orchestrate(stack, {
      environments: [
        {
          ...testEnvironment(stack, 'us'),
          alarms: [cloudwatch.Alarm.fromAlarmName(stack, 'Imported', 'us-composite')],
        },
      ],
    });

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
            Effect: 'Allow',
            Resource: '*',
          },
        ]),
      },
    });
  });
});

describe('the flow of waves', () => {
  it('loops Deploy → CheckDeploy → CutOver → RetireOldWorkers → Bake → NextWave? back to Deploy, and on to PostDeploySteps', () => {
    const stack = testStack();
    orchestrate(stack, { environments: [testEnvironment(stack, 'us')] });
    const { States } = extractDefinition(Template.fromStack(stack).toJSON() as Cfn);

    expect(States['Deploy?']?.Choices?.map((c) => [c.StringEquals, c.Next])).toEqual([
      ['RUNNING', 'CheckDeploy'],
      ['FAILED', 'RollBack'],
      ['READY', 'CutOver'],
      ['SUCCEEDED', 'RetireOldWorkers'],
    ]);
    expect(States.RetireOldWorkers).toMatchObject({ Type: 'Task', Next: 'Bake' });
    expect(States.CutOver).toMatchObject({ Type: 'Task', Next: 'Deploy?' });
    expect(States['Bake?']?.Choices?.map((c) => [c.StringEquals, c.Next])).toEqual([
      ['RUNNING', 'Bake'],
      ['FAILED', 'RollBack'],
      ['SUCCEEDED', 'NextWave?'],
    ]);
    expect(States['NextWave?']).toMatchObject({
      Choices: [{ Variable: '$.bake.nextWave', IsPresent: true, Next: 'Deploy' }],
      Default: 'PostDeploySteps',
    });
    for (const name of ['Deploy', 'CheckDeploy', 'CutOver', 'Bake']) {
      expect(States[name]?.Catch?.at(-1), name).toMatchObject({
        ErrorEquals: ['States.ALL'],
        Next: 'RollBack',
      });
    }
  });
});
