import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_IMAGE, WORKER_ENTRYPOINT } from '../../infra/sample-stack.js';
import { sampleApp, synthesizeSampleTemplate } from '../../infra/synthesize.js';

let template: Template;

beforeAll(() => {
  template = Template.fromJSON(synthesizeSampleTemplate());
});

describe('SampleStack', () => {
  it('has three clusters in one VPC over two fixed zones', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::ECS::Cluster', 3);
    template.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'us-east-1a' });
    template.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'us-east-1b' });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/dummy1[abc]/);
  });

  it('deploys every service blue/green with rollback on failure and stop, and a termination wait', () => {
    template.resourcePropertiesCountIs(
      'AWS::ECS::Service',
      { DeploymentController: { Type: 'CODE_DEPLOY' } },
      6,
    );
    template.resourcePropertiesCountIs(
      'AWS::CodeDeploy::DeploymentGroup',
      {
        AutoRollbackConfiguration: {
          Enabled: true,
          Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
        },
        DeploymentConfigName: 'CodeDeployDefault.ECSAllAtOnce',
        BlueGreenDeploymentConfiguration: Match.objectLike({
          TerminateBlueInstancesOnDeploymentSuccess: { Action: 'TERMINATE', TerminationWaitTimeInMinutes: 5 },
        }),
      },
      6,
    );
  });

  it('runs the demo app from the initial image, logging to its environment’s group with prefix app', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'stepdeploy-demo-eu-web',
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          Image: SAMPLE_IMAGE,
          Command: ['node', 'examples/demo/app/web.mjs'],
          Environment: [{ Name: 'APP_ENV', Value: 'eu' }],
          StopTimeout: 30,
          PortMappings: [Match.objectLike({ ContainerPort: 3000 })],
          LogConfiguration: Match.objectLike({
            LogDriver: 'awslogs',
            Options: Match.objectLike({ 'awslogs-stream-prefix': 'app' }),
          }),
        }),
      ],
    });
  });

  it('turns the worker’s SIGTERM into the SIGQUIT it drains on', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'stepdeploy-demo-au-worker',
      ContainerDefinitions: [
        Match.objectLike({
          EntryPoint: WORKER_ENTRYPOINT,
          Command: ['node', 'examples/demo/app/worker.mjs'],
          PortMappings: [Match.objectLike({ ContainerPort: 4000 })],
        }),
      ],
    });
  });

  it('has no unacknowledged AwsSolutions finding', () => {
    const { app } = sampleApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth({ validateOnSynthesis: false })).not.toThrow();
  });
});
