import {
  BatchGetDeploymentsCommand,
  BatchLimitExceededException,
  CodeDeployClient,
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  type DeploymentInfo,
  DeploymentLimitExceededException,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  InvalidRevisionException,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appSpecOf } from '../../../lambdas/shared/deployments.js';
import { deploymentMarker } from '../../../lambdas/shared/markers.js';
import { deployTemplate } from '../../../local/cloudformation.js';
import { LocalAws } from '../../../local/local-aws.js';
import { clientConfig, eventually } from '../local-aws-fixture.js';

const SERVER = [
  'node',
  '-e',
  'require("http").createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT))',
];

const container = (version: string) => ({
  name: 'app',
  image: `app:${version}`,
  command: SERVER,
  portMappings: [{ containerPort: 8080 }],
  environment: [{ name: 'VERSION', value: version }],
  stopTimeout: 2,
});

/** Two services behind blue/green groups: `web` shifts at once, `api` waits for ContinueDeployment. */
const template = {
  Resources: {
    Cluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'cd-test' } },
    TaskV1: {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: {
        Family: 'cd-app',
        ContainerDefinitions: [
          {
            Name: 'app',
            Image: 'app:v1',
            Command: SERVER,
            PortMappings: [{ ContainerPort: 8080 }],
            Environment: [{ Name: 'VERSION', Value: 'v1' }],
            StopTimeout: 2,
          },
        ],
      },
    },
    Web: service('web'),
    Api: service('api'),
    App: {
      Type: 'AWS::CodeDeploy::Application',
      Properties: { ApplicationName: 'cd-app', ComputePlatform: 'ECS' },
    },
    WebGroup: group('Web', 'cd-web', { ActionOnTimeout: 'CONTINUE_DEPLOYMENT', WaitTimeInMinutes: 0 }),
    ApiGroup: group('Api', 'cd-api', { ActionOnTimeout: 'STOP_DEPLOYMENT', WaitTimeInMinutes: 2880 }),
  },
};

function service(name: string) {
  return {
    Type: 'AWS::ECS::Service',
    Properties: {
      Cluster: { Ref: 'Cluster' },
      ServiceName: name,
      TaskDefinition: { Ref: 'TaskV1' },
      DesiredCount: 1,
      DeploymentController: { Type: 'CODE_DEPLOY' },
    },
  };
}

function group(serviceId: string, name: string, ready: Record<string, unknown>) {
  return {
    Type: 'AWS::CodeDeploy::DeploymentGroup',
    Properties: {
      ApplicationName: { Ref: 'App' },
      DeploymentGroupName: name,
      ServiceRoleArn: 'arn:aws:iam::000000000000:role/codedeploy',
      DeploymentConfigName: 'CodeDeployDefault.ECSAllAtOnce',
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
      ECSServices: [{ ClusterName: { Ref: 'Cluster' }, ServiceName: { 'Fn::GetAtt': [serviceId, 'Name'] } }],
      BlueGreenDeploymentConfiguration: {
        DeploymentReadyOption: ready,
        // Two days: a deployment only gets past it when ContinueDeployment skips it.
        TerminateBlueInstancesOnDeploymentSuccess: {
          Action: 'TERMINATE',
          TerminationWaitTimeInMinutes: 2880,
        },
      },
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'],
      },
    },
  };
}

let local: LocalAws;
let codedeploy: CodeDeployClient;
let ecs: ECSClient;
let v2: string;

beforeEach(async () => {
  local = await LocalAws.start({ port: 0, timeScale: 600 });
  await deployTemplate(local, template);
  const config = clientConfig(local);
  codedeploy = new CodeDeployClient(config);
  ecs = new ECSClient(config);
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({ family: 'cd-app', containerDefinitions: [container('v2')] }),
  );
  v2 = registered.taskDefinition?.taskDefinitionArn as string;
});

afterEach(async () => {
  codedeploy.destroy();
  ecs.destroy();
  await local.stop();
});

/** CodeDeploy's scaled waits take longer than the default poll budget. */
const DEPLOYMENT_WAIT_MS = 30_000;

const get = async (deploymentId: string): Promise<DeploymentInfo> =>
  (await codedeploy.send(new GetDeploymentCommand({ deploymentId }))).deploymentInfo as DeploymentInfo;

const reaches = (deploymentId: string, accept: (info: DeploymentInfo) => boolean, what: string) =>
  eventually(
    async () => {
      const info = await get(deploymentId);
      return accept(info) ? info : undefined;
    },
    DEPLOYMENT_WAIT_MS,
    `deployment ${deploymentId} ${what}`,
  );

const inTerminationWait = (id: string) =>
  reaches(id, (info) => info.instanceTerminationWaitTimeStarted === true, 'to start its termination wait');

async function deploy(groupName: string, description: string, content?: string): Promise<string> {
  const appSpec = appSpecOf(v2, { container: 'app', containerPort: 8080 });
  const created = await codedeploy.send(
    new CreateDeploymentCommand({
      applicationName: 'cd-app',
      deploymentGroupName: groupName,
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: content === undefined ? appSpec : { content },
      },
      description,
    }),
  );
  return created.deploymentId as string;
}

async function serviceState(name: string) {
  const { services } = await ecs.send(new DescribeServicesCommand({ cluster: 'cd-test', services: [name] }));
  const described = services?.[0];
  return {
    taskDefinition: described?.taskDefinition,
    taskSets: (described?.taskSets ?? []).map((set) => [set.status, set.taskDefinition]),
  };
}

async function taskStatuses(taskArns: string[]): Promise<string[]> {
  const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: 'cd-test', tasks: taskArns }));
  return (tasks ?? []).map((task) => task.lastStatus ?? '');
}

const v1 = 'arn:aws:ecs:us-east-1:000000000000:task-definition/cd-app:1';

describe('CodeDeploy ECS blue/green', () => {
  it('shifts traffic, waits to terminate, and finishes when ContinueDeployment skips the wait', async () => {
    const originalTasks =
      (await ecs.send(new ListTasksCommand({ cluster: 'cd-test', serviceName: 'web' }))).taskArns ?? [];
    const badSha = await codedeploy
      .send(
        new CreateDeploymentCommand({
          applicationName: 'cd-app',
          deploymentGroupName: 'cd-web',
          revision: { revisionType: 'AppSpecContent', appSpecContent: { content: '{}', sha256: 'abc' } },
        }),
      )
      .catch((error: unknown) => error);

    const yaml = [
      'version: 0.0',
      'Resources:',
      '  - TargetService:',
      '      Type: AWS::ECS::Service',
      '      Properties:',
      `        TaskDefinition: "${v2}"`,
      '        LoadBalancerInfo:',
      '          ContainerName: "app"',
      '          ContainerPort: 8080',
    ].join('\n');
    const id = await deploy('cd-web', 'release 2', yaml);
    const second = await deploy('cd-web', 'release 3').catch((error: unknown) => error);
    const waiting = await inTerminationWait(id);
    const shifted = await serviceState('web');
    await codedeploy.send(
      new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'TERMINATION_WAIT' }),
    );
    const done = await reaches(id, (info) => info.status === 'Succeeded', 'to succeed');

    expect(badSha).toBeInstanceOf(InvalidRevisionException);
    expect(second).toBeInstanceOf(DeploymentLimitExceededException);
    expect((second as Error).message).toContain(id);
    expect(waiting.status).toBe('InProgress');
    expect(shifted.taskDefinition).toBe(v2);
    expect(shifted.taskSets).toEqual(
      expect.arrayContaining([
        ['PRIMARY', v2],
        ['ACTIVE', v1],
      ]),
    );
    expect(done.creator).toBe('user');
    expect(done.completeTime).toBeInstanceOf(Date);
    expect(done.createTime).toBeInstanceOf(Date);
    expect(done.deploymentOverview?.Succeeded).toBe(1);
    expect(done.deploymentStatusMessages).toContain('AfterAllowTraffic succeeded');
    expect(
      JSON.parse(done.previousRevision?.appSpecContent?.content ?? '{}').Resources[0].TargetService.Properties
        .TaskDefinition,
    ).toBe(v1);
    expect(await serviceState('web')).toEqual({ taskDefinition: v2, taskSets: [['PRIMARY', v2]] });
    expect(await taskStatuses(originalTasks)).toEqual(['STOPPED']);

    const listed = await codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: 'cd-app',
        deploymentGroupName: 'cd-web',
        includeOnlyStatuses: ['Succeeded'],
        createTimeRange: { start: new Date(Date.now() - 60_000) },
      }),
    );
    const none = await codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: 'cd-app',
        deploymentGroupName: 'cd-web',
        includeOnlyStatuses: ['Failed'],
      }),
    );
    const batch = await codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: [id] }));
    const tooMany = await codedeploy
      .send(new BatchGetDeploymentsCommand({ deploymentIds: Array.from({ length: 26 }, () => id) }))
      .catch((error: unknown) => error);
    const { deploymentGroupInfo } = await codedeploy.send(
      new GetDeploymentGroupCommand({ applicationName: 'cd-app', deploymentGroupName: 'cd-web' }),
    );
    expect(listed.deployments).toEqual([id]);
    expect(none.deployments).toEqual([]);
    expect(batch.deploymentsInfo?.map((info) => info.status)).toEqual(['Succeeded']);
    expect(tooMany).toBeInstanceOf(BatchLimitExceededException);
    expect(deploymentGroupInfo?.lastSuccessfulDeployment?.deploymentId).toBe(id);
    expect(
      deploymentGroupInfo?.blueGreenDeploymentConfiguration?.terminateBlueInstancesOnDeploymentSuccess
        ?.terminationWaitTimeInMinutes,
    ).toBe(2880);
    expect(deploymentGroupInfo?.ecsServices).toEqual([{ clusterName: 'cd-test', serviceName: 'web' }]);
  });

  it('waits in Ready until ContinueDeployment READY_WAIT, then shifts traffic', async () => {
    const id = await deploy('cd-api', 'release 2');

    const ready = await reaches(id, (info) => info.status === 'Ready', 'to be Ready');
    const before = await serviceState('api');
    await codedeploy.send(
      new ContinueDeploymentCommand({ deploymentId: id, deploymentWaitType: 'READY_WAIT' }),
    );
    await inTerminationWait(id);

    expect(ready.instanceTerminationWaitTimeStarted).toBe(false);
    expect(before.taskDefinition).toBe(v1);
    expect((await serviceState('api')).taskDefinition).toBe(v2);
  });

  it('StopDeployment with rollback routes traffic back to the original task set and removes the replacement', async () => {
    const id = await deploy('cd-web', deploymentMarker('r2', 'test', 'web'));
    await inTerminationWait(id);
    const bothTasks =
      (await ecs.send(new ListTasksCommand({ cluster: 'cd-test', serviceName: 'web' }))).taskArns ?? [];

    const stopped = await codedeploy.send(
      new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }),
    );
    const original = await get(id);
    const rollbackId = original.rollbackInfo?.rollbackDeploymentId as string;
    const rollback = await reaches(rollbackId, (info) => info.status === 'Succeeded', 'to roll back');

    expect(stopped.status).toBe('Pending');
    expect(original.status).toBe('Stopped');
    expect(original.errorInformation?.code).toBe('MANUAL_STOP');
    expect(rollback.creator).toBe('autoRollback');
    expect(rollback.description).toBeUndefined();
    expect(rollback.rollbackInfo?.rollbackTriggeringDeploymentId).toBe(id);
    expect(await serviceState('web')).toEqual({ taskDefinition: v1, taskSets: [['PRIMARY', v1]] });
    expect((await taskStatuses(bothTasks)).sort()).toEqual(['RUNNING', 'STOPPED']);
    expect(await deploy('cd-web', 'next release')).toMatch(/^d-[A-Z0-9]{9}$/);
  });

  it('fails at the lifecycle event a fault names and rolls back automatically', async () => {
    local.faults.add({
      kind: 'deployment-failure',
      environment: 'test',
      service: 'web',
      lifecycleEvent: 'AfterAllowTraffic',
    });

    const id = await deploy('cd-web', deploymentMarker('r3', 'test', 'web'));
    const failed = await reaches(id, (info) => info.status === 'Failed', 'to fail');
    const rollbackId = failed.rollbackInfo?.rollbackDeploymentId as string;
    const rollback = await reaches(rollbackId, (info) => info.status === 'Succeeded', 'to roll back');

    expect(failed.errorInformation?.code).toBe('HOOK_EXECUTION_FAILURE');
    expect(failed.errorInformation?.message).toContain('AfterAllowTraffic');
    expect(failed.deploymentOverview?.Failed).toBe(1);
    expect(rollback.rollbackInfo?.rollbackTriggeringDeploymentId).toBe(id);
    expect(await serviceState('web')).toEqual({ taskDefinition: v1, taskSets: [['PRIMARY', v1]] });
  });

  it('a hanging deployment never gets healthy until StopDeployment', async () => {
    local.faults.add({ kind: 'deployment-hang', environment: 'test', service: 'web' });

    const id = await deploy('cd-web', deploymentMarker('r4', 'test', 'web'));
    await eventually(
      async () => {
        const { taskArns } = await ecs.send(new ListTasksCommand({ cluster: 'cd-test', serviceName: 'web' }));
        const statuses = await taskStatuses(taskArns ?? []);
        return statuses.filter((status) => status === 'RUNNING').length === 2 ? true : undefined;
      },
      DEPLOYMENT_WAIT_MS,
      'the replacement task to run',
    );
    // Five scaled minutes: far past the few health checks a healthy replacement needs.
    await local.clock.sleep(5 * 60_000);
    const hanging = await get(id);
    await codedeploy.send(new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }));
    const rollbackId = (await get(id)).rollbackInfo?.rollbackDeploymentId as string;
    await reaches(rollbackId, (info) => info.status === 'Succeeded', 'to roll back');

    expect(hanging.status).toBe('InProgress');
    expect(hanging.instanceTerminationWaitTimeStarted).toBe(false);
    expect((await get(id)).status).toBe('Stopped');
    expect(await serviceState('web')).toEqual({ taskDefinition: v1, taskSets: [['PRIMARY', v1]] });
  });
});
