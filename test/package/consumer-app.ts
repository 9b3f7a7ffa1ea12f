// A CDK app as a user writes it from the README's "Use it in your CDK app": two environments,
// each an ECS cluster with a web service deployed blue/green by CodeDeploy, and a migration.
// The package test installs stepdeploy from its tarball next to this file and synthesizes it.
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { DeployOrchestrator, type OrchestratorEnvironment } from 'stepdeploy';

const app = new App();
const stack = new Stack(app, 'Releases', { env: { account: '123456789012', region: 'us-east-1' } });
const vpc = new ec2.Vpc(stack, 'Vpc', {
  availabilityZones: ['us-east-1a', 'us-east-1b'],
  natGateways: 1,
});

function environment(name: string): OrchestratorEnvironment {
  const cluster = new ecs.Cluster(stack, `${name}-cluster`, { vpc });
  const taskDefinition = (id: string) => {
    const definition = new ecs.FargateTaskDefinition(stack, `${name}-${id}`, {
      cpu: 256,
      memoryLimitMiB: 512,
    });
    definition.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine'),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: name }),
      portMappings: [{ containerPort: 3000 }],
    });
    return definition;
  };
  const service = new ecs.FargateService(stack, `${name}-web`, {
    cluster,
    taskDefinition: taskDefinition('web-task'),
    deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
  });
  const alb = new elbv2.ApplicationLoadBalancer(stack, `${name}-alb`, { vpc, internetFacing: true });
  const targetGroup = (color: string) =>
    new elbv2.ApplicationTargetGroup(stack, `${name}-${color}`, {
      vpc,
      port: 3000,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
    });
  const blue = targetGroup('blue');
  const listener = alb.addListener(`${name}-listener`, { port: 80, defaultTargetGroups: [blue] });
  service.attachToApplicationTargetGroup(blue);
  const deploymentGroup = new codedeploy.EcsDeploymentGroup(stack, `${name}-deployment`, {
    service,
    blueGreenDeploymentConfig: {
      blueTargetGroup: blue,
      greenTargetGroup: targetGroup('green'),
      listener,
      terminationWaitTime: Duration.minutes(10),
    },
  });
  return {
    name,
    cluster,
    migration: {
      taskDefinition: taskDefinition('one-off'),
      container: 'app',
      command: ['npm', 'run', 'migrate'],
    },
    services: [{ name: 'web', service, deploymentGroup, container: 'app', containerPort: 3000 }],
  };
}

new DeployOrchestrator(stack, 'Deploy', {
  environments: [environment('us'), environment('eu')],
  postDeploySteps: [{ name: 'notify', container: 'app', command: ['npm', 'run', 'notify'] }],
});
app.synth();
