import { App, Stack } from 'aws-cdk-lib';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { OrchestratorEnvironment } from '../../infra/deploy-orchestrator.js';

/** A stack in an app that skips bundling, for constructing orchestrators quickly. */
export function testStack(): Stack {
  const app = new App();
  return new Stack(app, 'Test', { env: { account: '000000000000', region: 'us-east-1' } });
}

/** One environment with a migration and a `web` service, its deployment group imported by name. */
export function testEnvironment(
  stack: Stack,
  name: string,
  overrides: Partial<OrchestratorEnvironment> = {},
): OrchestratorEnvironment {
  const vpc =
    (stack.node.tryFindChild('Vpc') as ec2.Vpc | undefined) ??
    new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
    });
  const cluster = new ecs.Cluster(stack, `${name}Cluster`, { vpc, clusterName: `cluster-${name}` });
  const taskDefinition = (kind: string) => {
    const definition = new ecs.FargateTaskDefinition(stack, `${name}${kind}`, { family: `${name}-${kind}` });
    definition.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry('app:1'),
      portMappings: [{ containerPort: 3000 }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'app' }),
    });
    return definition;
  };
  const oneOff = taskDefinition('oneoff');
  const service = new ecs.FargateService(stack, `${name}Web`, {
    cluster,
    taskDefinition: taskDefinition('web'),
    deploymentController: { type: ecs.DeploymentControllerType.CODE_DEPLOY },
    minHealthyPercent: 100,
  });
  const deploymentGroup = codedeploy.EcsDeploymentGroup.fromEcsDeploymentGroupAttributes(
    stack,
    `${name}Group`,
    {
      application: codedeploy.EcsApplication.fromEcsApplicationName(stack, `${name}App`, `app-${name}`),
      deploymentGroupName: `group-${name}-web`,
    },
  );
  return {
    name,
    cluster,
    network: { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, assignPublicIp: true },
    migration: { taskDefinition: oneOff, container: 'app', command: ['migrate'] },
    services: [{ name: 'web', service, deploymentGroup, container: 'app', containerPort: 3000 }],
    ...overrides,
  };
}

/** A one-off task definition for EC2 in the default (bridge) network mode, with an `app` container. */
export function ec2OneOff(stack: Stack, name: string): ecs.Ec2TaskDefinition {
  const definition = new ecs.Ec2TaskDefinition(stack, `${name}Ec2OneOff`, { family: `${name}-ec2-oneoff` });
  definition.addContainer('app', {
    image: ecs.ContainerImage.fromRegistry('app:1'),
    memoryLimitMiB: 512,
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'app' }),
  });
  return definition;
}
