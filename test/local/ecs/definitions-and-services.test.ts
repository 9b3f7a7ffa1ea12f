import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../../local/local-aws.js';
import { eventually, nodeCommand, startLocal, stopAndAssertNoProcesses } from '../local-aws-fixture.js';

let local: LocalAws;
let ecs: ECSClient;

beforeEach(async () => {
  ({ local, ecs } = await startLocal({ timeScale: 20 }));
  await ecs.send(new CreateClusterCommand({ clusterName: 'us' }));
});

afterEach(async () => {
  await stopAndAssertNoProcesses(local);
});

const register = (family: string, image: string, command = nodeCommand('')) =>
  ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      containerDefinitions: [
        { name: 'app', image, command, portMappings: [{ containerPort: 3000 }], stopTimeout: 2 },
      ],
      tags: [{ key: 'stepdeploy:release', value: image }],
    }),
  );

describe('task definitions', () => {
  it('registers revisions, describes the latest ACTIVE one by family, lists and deregisters as ECS does', async () => {
    // Prepare
    await register('web', 'web:1');
    await register('web', 'web:2');
    await register('migrate', 'app:1');

    // Act
    const latest = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: 'web', include: ['TAGS'] }),
    );
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'web:2' }));
    const afterDeregister = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web' }));
    const byRevision = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:2' }));
    const webDesc = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web', sort: 'DESC', status: 'ACTIVE' }),
    );
    const inactive = await ecs.send(new ListTaskDefinitionsCommand({ status: 'INACTIVE' }));
    const all = await ecs.send(new ListTaskDefinitionsCommand({}));
    const families = await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: 'we' }));

    // Assess
    expect(latest.taskDefinition).toMatchObject({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/web:2',
      revision: 2,
      status: 'ACTIVE',
    });
    expect(latest.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    expect(latest.tags).toEqual([{ key: 'stepdeploy:release', value: 'web:2' }]);
    expect(afterDeregister.taskDefinition?.revision).toBe(1);
    expect(byRevision.taskDefinition?.status).toBe('INACTIVE');
    expect(webDesc.taskDefinitionArns).toEqual(['arn:aws:ecs:us-east-1:000000000000:task-definition/web:1']);
    expect(inactive.taskDefinitionArns).toEqual(['arn:aws:ecs:us-east-1:000000000000:task-definition/web:2']);
    expect(all.taskDefinitionArns?.map((arn) => arn.split('/')[1])).toEqual(['migrate:1', 'web:1']);
    expect(families.families).toEqual(['web']);
  });

  it('keeps task definitions per Region', async () => {
    // Prepare
    await register('web', 'web:1');

    // Act
    const elsewhere = local.ecs.listTaskDefinitions('eu-west-1', {});

    // Assess
    expect(elsewhere).toEqual([]);
    await expect(
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope' })),
    ).rejects.toMatchObject({
      name: 'ClientException',
    });
  });
});

describe('services and task sets', () => {
  const webCommand = nodeCommand(
    "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1'); process.on('SIGTERM', () => process.exit(0));",
  );

  it('starts a service as a PRIMARY task set, and swaps task sets the way CodeDeploy drives them', async () => {
    // Prepare
    const blue = (await register('web', 'web:1', webCommand)).taskDefinition?.taskDefinitionArn as string;
    const green = (await register('web', 'web:2', webCommand)).taskDefinition?.taskDefinitionArn as string;
    const service = await local.ecs.createService({
      region: 'us-east-1',
      cluster: 'us',
      name: 'web',
      taskDefinitionArn: blue,
      desiredCount: 2,
      loadBalancers: [
        { containerName: 'app', containerPort: 3000, targetGroupArn: 'arn:aws:elasticloadbalancing:tg' },
      ],
      deploymentController: { type: 'CODE_DEPLOY' },
    });
    const original = service.taskSets[0];
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(original)) ? true : undefined));

    // Act
    const replacement = await local.ecs.createTaskSet(service, green);
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(replacement)) ? true : undefined));
    local.ecs.setPrimaryTaskSet(service, replacement);
    const during = await ecs.send(new DescribeServicesCommand({ cluster: 'us', services: ['web'] }));
    const serviceTasks = await ecs.send(new ListTasksCommand({ cluster: 'us', serviceName: 'web' }));
    await local.ecs.deleteTaskSet(service, original);
    const after = await ecs.send(new DescribeServicesCommand({ cluster: 'us', services: ['web', 'worker'] }));
    const originalTasks = await ecs.send(
      new DescribeTasksCommand({ cluster: 'us', tasks: original.taskArns }),
    );

    // Assess
    expect(during.services?.[0]).toMatchObject({
      serviceName: 'web',
      taskDefinition: green,
      desiredCount: 2,
      runningCount: 4,
      deploymentController: { type: 'CODE_DEPLOY' },
      loadBalancers: [{ containerName: 'app', containerPort: 3000 }],
    });
    expect(during.services?.[0]?.taskSets?.map((set) => [set.status, set.taskDefinition])).toEqual([
      ['ACTIVE', blue],
      ['PRIMARY', green],
    ]);
    expect(serviceTasks.taskArns).toHaveLength(4);
    expect(after.services?.[0]?.taskSets?.map((set) => set.id)).toEqual([replacement.taskSet.id]);
    expect(after.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:000000000000:service/us/worker', reason: 'MISSING' },
    ]);
    expect(
      originalTasks.tasks?.map((task) => [task.lastStatus, task.stopCode, task.containers?.[0]?.exitCode]),
    ).toEqual([
      ['STOPPED', 'ServiceSchedulerInitiated', 0],
      ['STOPPED', 'ServiceSchedulerInitiated', 0],
    ]);
  });

  it('reports a task set unhealthy when its port does not answer or its process has exited', async () => {
    // Prepare
    const silent = (await register('web', 'web:1', nodeCommand('setInterval(() => {}, 1000)'))).taskDefinition
      ?.taskDefinitionArn as string;
    const crashing = (await register('web', 'web:2', nodeCommand('process.exit(1)'))).taskDefinition
      ?.taskDefinitionArn as string;
    const service = await local.ecs.createService({
      region: 'us-east-1',
      cluster: 'us',
      name: 'web',
      taskDefinitionArn: silent,
      desiredCount: 1,
      deploymentController: { type: 'CODE_DEPLOY' },
    });

    // Act
    const replacement = await local.ecs.createTaskSet(service, crashing);
    await local.ecs.allTasks().find((record) => record.task.taskArn === replacement.taskArns[0])?.stopped;

    // Assess
    expect(await local.ecs.isTaskSetHealthy(service.taskSets[0])).toBe(false);
    expect(await local.ecs.isTaskSetHealthy(replacement)).toBe(false);
  });

  it('replaces a service task that exits on its own, until one stays up', async () => {
    // Prepare: the task exits 1 until a file appears (as a worker does before the migrations ran).
    const flakyCommand = nodeCommand(
      "if (!require('node:fs').existsSync(process.env.LOCAL_DATA_DIR + '/ready')) process.exit(1); require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1'); process.on('SIGTERM', () => process.exit(0));",
    );
    const definition = (await register('worker', 'worker:1', flakyCommand)).taskDefinition
      ?.taskDefinitionArn as string;
    const service = await local.ecs.createService({
      region: 'us-east-1',
      cluster: 'us',
      name: 'worker',
      taskDefinitionArn: definition,
      desiredCount: 1,
      deploymentController: { type: 'CODE_DEPLOY' },
    });
    const set = service.taskSets[0];
    const first = set.taskArns[0];
    await local.ecs.allTasks().find((record) => record.task.taskArn === first)?.stopped;

    // Act
    writeFileSync(join(local.dataDir, 'ready'), '');
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(set)) ? true : undefined));
    const running = await ecs.send(new ListTasksCommand({ cluster: 'us', serviceName: 'worker' }));
    const stopped = await ecs.send(new DescribeTasksCommand({ cluster: 'us', tasks: [first] }));

    // Assess
    expect(set.taskArns).toHaveLength(1);
    expect(set.taskArns[0]).not.toBe(first);
    expect(running.taskArns).toEqual(set.taskArns);
    expect(stopped.tasks?.[0]).toMatchObject({
      stopCode: 'EssentialContainerExited',
      startedBy: set.taskSet.id,
      containers: [{ exitCode: 1 }],
    });
  });

  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html: "If one of your tasks fails or
  // stops, the Amazon ECS service scheduler launches another instance of your task definition to replace it."
  it('replaces a service task that StopTask stopped, keeping the desired count', async () => {
    // Prepare
    const definition = (await register('worker', 'worker:1', webCommand)).taskDefinition
      ?.taskDefinitionArn as string;
    const service = await local.ecs.createService({
      region: 'us-east-1',
      cluster: 'us',
      name: 'worker',
      taskDefinitionArn: definition,
      desiredCount: 1,
      deploymentController: { type: 'CODE_DEPLOY' },
    });
    const set = service.taskSets[0];
    const first = set.taskArns[0];
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(set)) ? true : undefined));

    // Act
    await ecs.send(new StopTaskCommand({ cluster: 'us', task: first, reason: 'retired by hand' }));
    const replacement = await eventually(() => (set.taskArns[0] !== first ? set.taskArns[0] : undefined));
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(set)) ? true : undefined));
    const running = await ecs.send(new ListTasksCommand({ cluster: 'us', serviceName: 'worker' }));
    const stopped = await ecs.send(new DescribeTasksCommand({ cluster: 'us', tasks: [first] }));

    // Assess
    expect(running.taskArns).toEqual([replacement]);
    expect(stopped.tasks?.[0]).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'retired by hand',
    });
  });

  it('counts a task set healthy when only a non-essential container has finished', async () => {
    // Prepare
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web-with-init',
        containerDefinitions: [
          {
            name: 'app',
            image: 'web:1',
            command: webCommand,
            portMappings: [{ containerPort: 3000 }],
            stopTimeout: 2,
          },
          { name: 'init', image: 'init:1', essential: false, command: nodeCommand("console.log('seeded')") },
        ],
      }),
    );

    // Act
    const service = await local.ecs.createService({
      region: 'us-east-1',
      cluster: 'us',
      name: 'web',
      taskDefinitionArn: taskDefinition?.taskDefinitionArn as string,
      desiredCount: 1,
      deploymentController: { type: 'CODE_DEPLOY' },
    });
    const set = service.taskSets[0];
    const task = await eventually(async () => {
      const [record] = local.ecs.allTasks();
      return record?.containers[1]?.container.lastStatus === 'STOPPED' ? record : undefined;
    });

    // Assess
    await eventually(async () => ((await local.ecs.isTaskSetHealthy(set)) ? true : undefined));
    expect(task.task.lastStatus).toBe('RUNNING');
  });

  it('tags resources and lists their tags', async () => {
    // Prepare
    await register('web', 'web:1');
    const arn = 'arn:aws:ecs:us-east-1:000000000000:task-definition/web:1';

    // Act
    await ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'team', value: 'deploy' }] }));
    const tags = await ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }));

    // Assess
    expect(tags.tags).toEqual([
      { key: 'stepdeploy:release', value: 'web:1' },
      { key: 'team', value: 'deploy' },
    ]);
  });
});
