import {
  CreateClusterCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../../local/local-aws.js';
import { eventually, nodeCommand, startLocal, stopAndAssertNoProcesses } from '../local-aws-fixture.js';

let local: LocalAws | undefined;

afterEach(async () => {
  if (local) await stopAndAssertNoProcesses(local);
  local = undefined;
});

/** A local AWS at `timeScale` with a cluster `app` (and its capacity providers, when given). */
async function start(timeScale: number, capacity: Partial<CreateClusterCommand['input']> = {}) {
  const started = await startLocal({ timeScale }, 'eu-west-1');
  local = started.local;
  await started.ecs.send(new CreateClusterCommand({ clusterName: 'app', ...capacity }));
  return started.ecs;
}

async function register(
  ecs: ECSClient,
  script: string,
  extra: Partial<RegisterTaskDefinitionCommandInput> = {},
): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'one-off',
      containerDefinitions: [{ name: 'app', image: 'app:1', command: nodeCommand(script), stopTimeout: 2 }],
      ...extra,
    }),
  );
  return taskDefinition?.taskDefinitionArn as string;
}

const stoppedTask = (ecs: ECSClient, taskArn: string) =>
  eventually<Task>(async () => {
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }));
    return tasks?.[0]?.lastStatus === 'STOPPED' ? tasks[0] : undefined;
  });

/** The error a call fails with (caught at once, so that no rejection goes unhandled meanwhile). */
const failure = (call: Promise<unknown>): Promise<unknown> =>
  call.then(
    () => new Error('the call succeeded'),
    (error: unknown) => error,
  );

const LONG_RUNNING = 'setInterval(() => {}, 1000)';
const AWSVPC = { awsvpcConfiguration: { subnets: ['subnet-1'], securityGroups: ['sg-1'] } };

describe('network mode', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html#ECS-RegisterTaskDefinition-request-networkMode
  it('defaults to bridge, and refuses a Fargate task definition that is not awsvpc', async () => {
    // Prepare
    const ecs = await start(10);

    // Act
    const bridge = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'plain',
        containerDefinitions: [{ name: 'app', image: 'app:1', command: ['true'] }],
      }),
    );
    const fargate = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'fargate',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        containerDefinitions: [{ name: 'app', image: 'app:1', command: ['true'] }],
      }),
    );
    const refused = failure(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'fargate',
          requiresCompatibilities: ['FARGATE'],
          containerDefinitions: [{ name: 'app', image: 'app:1', command: ['true'] }],
        }),
      ),
    );

    // Assess
    expect(bridge.taskDefinition).toMatchObject({ networkMode: 'bridge', compatibilities: ['EC2'] });
    expect(fargate.taskDefinition).toMatchObject({
      networkMode: 'awsvpc',
      compatibilities: ['EC2', 'FARGATE'],
    });
    // aws/amazon-ecs-cli#1145 shows the message.
    expect(await refused).toMatchObject({
      name: 'ClientException',
      message: 'Fargate only supports network mode ‘awsvpc’.',
    });
  });

  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-networkConfiguration;
  // messages as aws-actions/amazon-ecs-deploy-task-definition#802 and #616 show them.
  it('requires a network configuration for awsvpc and refuses one for any other mode', async () => {
    // Prepare
    const ecs = await start(10);
    const awsvpc = await register(ecs, "console.log('up')", { networkMode: 'awsvpc' });
    const bridge = await register(ecs, "console.log('up')", { family: 'bridge' });

    // Act
    const withoutNetwork = failure(ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: awsvpc })));
    const networkOnBridge = failure(
      ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: bridge, networkConfiguration: AWSVPC })),
    );
    const onAwsvpc = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: awsvpc, networkConfiguration: AWSVPC }),
    );
    const onBridge = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: bridge }));

    // Assess
    expect(await withoutNetwork).toMatchObject({
      name: 'InvalidParameterException',
      message: "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    });
    expect(await networkOnBridge).toMatchObject({
      name: 'InvalidParameterException',
      message: 'Network Configuration is not valid for the given networkMode of this task definition.',
    });
    const task = onAwsvpc.tasks?.[0];
    expect(task?.attachments?.[0]).toMatchObject({
      type: 'ElasticNetworkInterface',
      details: expect.arrayContaining([{ name: 'subnetId', value: 'subnet-1' }]),
    });
    expect(onBridge.tasks?.[0]?.attachments).toEqual([]);
    await stoppedTask(ecs, task?.taskArn as string);
    await stoppedTask(ecs, onBridge.tasks?.[0]?.taskArn as string);
  });
});

describe('capacity provider strategy', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-capacityProviderStrategy;
  // the message of the refusal as terraform-linters/tflint-ruleset-aws#349 shows it.
  it('refuses it together with a launch type, or naming a provider the cluster lacks, and otherwise places the task with it', async () => {
    // Prepare
    const ecs = await start(10, {
      capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      defaultCapacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }],
    });
    const arn = await register(ecs, "console.log('up')");
    const strategy = [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }];

    // Act
    const both = failure(
      ecs.send(
        new RunTaskCommand({
          cluster: 'app',
          taskDefinition: arn,
          launchType: 'EC2',
          capacityProviderStrategy: strategy,
        }),
      ),
    );
    const unknown = failure(
      ecs.send(
        new RunTaskCommand({
          cluster: 'app',
          taskDefinition: arn,
          capacityProviderStrategy: [{ capacityProvider: 'asg-provider', weight: 1 }],
        }),
      ),
    );
    const spot = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: arn, capacityProviderStrategy: strategy }),
    );
    const byDefault = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn }));
    const ec2 = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: arn, launchType: 'EC2' }),
    );

    // Assess
    expect(await both).toMatchObject({
      name: 'InvalidParameterException',
      message:
        'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
    });
    expect(await unknown).toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('not associated with the cluster'),
    });
    expect(spot.tasks?.[0]).toMatchObject({ capacityProviderName: 'FARGATE_SPOT', launchType: 'FARGATE' });
    expect(byDefault.tasks?.[0]).toMatchObject({ capacityProviderName: 'FARGATE', launchType: 'FARGATE' });
    expect(ec2.tasks?.[0]?.capacityProviderName).toBeUndefined();
    expect(ec2.tasks?.[0]?.launchType).toBe('EC2');
    for (const run of [spot, byDefault, ec2]) await stoppedTask(ecs, run.tasks?.[0]?.taskArn as string);
  });
});

describe('RunTask clientToken', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html: the same token with other
  // parameters fails with ConflictException (whose resourceIds name the token's tasks); the token lives 24 hours.
  it('answers ConflictException for other parameters, and starts a new task once 24 hours (scaled) have passed', async () => {
    // Prepare: 24 hours last 5 s here.
    const ecs = await start(17_280);
    const arn = await register(ecs, LONG_RUNNING);
    const request = { cluster: 'app', taskDefinition: arn, clientToken: 'token-1', startedBy: 'run-1' };
    const first = await ecs.send(new RunTaskCommand(request));
    const firstArn = first.tasks?.[0]?.taskArn as string;

    // Act
    const again = await ecs.send(new RunTaskCommand(request));
    const conflict = await failure(
      ecs.send(
        new RunTaskCommand({
          ...request,
          overrides: { containerOverrides: [{ name: 'app', command: nodeCommand('0') }] },
        }),
      ),
    );
    const later = await eventually(async () => {
      const run = await ecs.send(new RunTaskCommand(request));
      const taskArn = run.tasks?.[0]?.taskArn;
      return taskArn && taskArn !== firstArn ? taskArn : undefined;
    });

    // Assess
    expect(again.tasks?.map((task) => task.taskArn)).toEqual([firstArn]);
    expect(conflict).toMatchObject({
      name: 'ConflictException',
      resourceIds: [firstArn],
      message: expect.stringContaining('overrides'),
    });
    expect(later).not.toBe(firstArn);
    for (const taskArn of [firstArn, later]) {
      await ecs.send(new StopTaskCommand({ cluster: 'app', task: taskArn }));
    }
  });
});

describe('ListTasks startedBy', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html#ECS-ListTasks-request-startedBy:
  // "it must be the only filter"; aws/aws-sdk-go-v2#1893 shows the InvalidParameterException and its message.
  it('refuses startedBy with any other filter, desiredStatus included, and lists the running tasks by startedBy alone', async () => {
    // Prepare
    const ecs = await start(10);
    const arn = await register(ecs, LONG_RUNNING);
    const run = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: arn, startedBy: 'run-1' }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;

    // Act
    const alone = await ecs.send(new ListTasksCommand({ cluster: 'app', startedBy: 'run-1' }));
    const refusals = await Promise.all(
      [{ desiredStatus: 'RUNNING' as const }, { family: 'one-off' }, { launchType: 'FARGATE' as const }].map(
        (filter) =>
          ecs
            .send(new ListTasksCommand({ cluster: 'app', startedBy: 'run-1', ...filter }))
            .then(() => 'accepted')
            .catch((error: { name: string; message: string }) => `${error.name}: ${error.message}`),
      ),
    );

    // Assess
    expect(alone.taskArns).toEqual([taskArn]);
    for (const refusal of refusals) {
      expect(refusal).toMatch(/^InvalidParameterException: cannot specify startedBy with other arguments/);
    }
    await ecs.send(new StopTaskCommand({ cluster: 'app', task: taskArn }));
    await stoppedTask(ecs, taskArn);
  });
});

describe('stopped tasks', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html: "stopped tasks appear in the
  // returned results for at least one hour"; ListTasks likewise.
  it('are described and listed for an hour (scaled) after they stopped, then answered as MISSING', async () => {
    // Prepare: an hour lasts 2 s here.
    const ecs = await start(1_800);
    const arn = await register(ecs, "console.log('done')");
    const run = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn }));
    const taskArn = run.tasks?.[0]?.taskArn as string;

    // Act
    const stopped = await stoppedTask(ecs, taskArn);
    const listed = await ecs.send(new ListTasksCommand({ cluster: 'app', desiredStatus: 'STOPPED' }));
    const gone = await eventually(async () => {
      const described = await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }));
      return described.tasks?.length === 0 ? described : undefined;
    });
    const listedLater = await ecs.send(new ListTasksCommand({ cluster: 'app', desiredStatus: 'STOPPED' }));
    const stopLater = failure(ecs.send(new StopTaskCommand({ cluster: 'app', task: taskArn })));

    // Assess
    expect(stopped.containers?.[0]?.exitCode).toBe(0);
    expect(listed.taskArns).toEqual([taskArn]);
    expect(gone.failures).toEqual([{ arn: taskArn, reason: 'MISSING' }]);
    expect(listedLater.taskArns).toEqual([]);
    expect(await stopLater).toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('task tags and DescribeTasks', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-propagateTags;
  // DescribeTasks returns tags with include TAGS and takes up to 100 tasks
  // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
  it("tags a task with the request's tags and, with propagateTags, its task definition's, and describes at most 100 tasks", async () => {
    // Prepare
    const ecs = await start(10);
    const arn = await register(ecs, "console.log('up')", {
      tags: [
        { key: 'team', value: 'payments' },
        { key: 'stepdeploy:release', value: 'r0' },
      ],
    });

    // Act
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: 'app',
        taskDefinition: arn,
        propagateTags: 'TASK_DEFINITION',
        tags: [{ key: 'stepdeploy:release', value: 'r1' }],
      }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;
    const withTags = await ecs.send(
      new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn], include: ['TAGS'] }),
    );
    const withoutTags = await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }));
    const service = await failure(
      ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn, propagateTags: 'SERVICE' })),
    );
    const tooMany = await failure(
      ecs.send(
        new DescribeTasksCommand({ cluster: 'app', tasks: Array.from({ length: 101 }, () => taskArn) }),
      ),
    );

    // Assess
    expect(withTags.tasks?.[0]?.tags).toEqual([
      { key: 'team', value: 'payments' },
      { key: 'stepdeploy:release', value: 'r1' },
    ]);
    expect(withoutTags.tasks?.[0]?.tags).toBeUndefined();
    expect(service).toMatchObject({ name: 'InvalidParameterException' });
    expect(tooMany).toMatchObject({ name: 'InvalidParameterException' });
    await stoppedTask(ecs, taskArn);
  });
});

describe('tag rules', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html: keys of 1-128 and values
  // of 0-256 characters matching ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, each key once, no `aws:` prefix,
  // at most 50 tags per resource.
  it('refuses a RunTask tag value over 256 characters, a character outside the pattern, an aws: prefix or a key given twice, and TagResource past 50 tags', async () => {
    // Prepare
    const ecs = await start(10);
    const arn = await register(ecs, "console.log('up')");
    const run = (tags: Array<{ key: string; value: string }>) =>
      ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn, tags }));
    const fitting = `${'é'.repeat(200)} _.:/=+-@${'9'.repeat(47)}`;

    // Act
    const tooLong = await failure(run([{ key: 'stepdeploy:run', value: 'x'.repeat(257) }]));
    // An execution name may hold `!`, `'`, `(` and `)`: none is allowed in a tag value.
    const badCharacter = await failure(run([{ key: 'stepdeploy:run', value: "release-(1)!'" }]));
    const reserved = await failure(run([{ key: 'AWS:team', value: 'x' }]));
    const twice = await failure(
      run([
        { key: 'team', value: 'a' },
        { key: 'team', value: 'b' },
      ]),
    );
    const accepted = await run([{ key: 'k'.repeat(128), value: fitting }]);
    const taskArn = accepted.tasks?.[0]?.taskArn as string;
    const fifty = Array.from({ length: 49 }, (_, index) => ({ key: `t${index}`, value: 'v' }));
    await ecs.send(new TagResourceCommand({ resourceArn: taskArn, tags: fifty }));
    const fiftyFirst = await failure(
      ecs.send(new TagResourceCommand({ resourceArn: taskArn, tags: [{ key: 'one-more', value: 'v' }] })),
    );

    // Assess
    for (const refused of [tooLong, badCharacter, reserved, twice, fiftyFirst])
      expect(refused).toMatchObject({ name: 'InvalidParameterException' });
    expect([...fitting].length).toBe(256);
    expect(accepted.tasks).toHaveLength(1);
    await stoppedTask(ecs, taskArn);
  });
});
