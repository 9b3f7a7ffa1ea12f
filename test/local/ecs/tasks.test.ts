import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../../local/local-aws.js';
import { eventually, nodeCommand, startLocal, stopAndAssertNoProcesses } from '../local-aws-fixture.js';

let local: LocalAws;
let ecs: ECSClient;
let logs: Awaited<ReturnType<typeof startLocal>>['logs'];

beforeEach(async () => {
  ({ local, ecs, logs } = await startLocal({ timeScale: 10 }, 'eu-west-1'));
  await ecs.send(new CreateClusterCommand({ clusterName: 'app' }));
  // As a deployment creates it: the awslogs driver does not, unless awslogs-create-group is set.
  await logs.send(new CreateLogGroupCommand({ logGroupName: '/app/one-off' }));
});

afterEach(async () => {
  await stopAndAssertNoProcesses(local);
});

async function register(command: string[], extra: { stopTimeout?: number; family?: string } = {}) {
  const output = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: extra.family ?? 'one-off',
      containerDefinitions: [
        {
          name: 'app',
          image: 'registry.example/app:1',
          command,
          environment: [{ name: 'APP_ENV', value: 'eu' }],
          stopTimeout: extra.stopTimeout,
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': '/app/one-off',
              'awslogs-stream-prefix': 'run',
              'awslogs-region': 'eu-west-1',
            },
          },
        },
      ],
    }),
  );
  return output.taskDefinition?.taskDefinitionArn as string;
}

async function stoppedTask(taskArn: string, cluster = 'app'): Promise<Task> {
  return eventually(async () => {
    const { tasks } = await ecs.send(
      new DescribeTasksCommand({ cluster, tasks: [taskArn], include: ['TAGS'] }),
    );
    return tasks?.[0]?.lastStatus === 'STOPPED' ? tasks[0] : undefined;
  });
}

async function logLines(taskArn: string): Promise<string[]> {
  const taskId = taskArn.split('/').pop();
  const page = await logs.send(
    new GetLogEventsCommand({
      logGroupName: '/app/one-off',
      logStreamName: `run/app/${taskId}`,
      startFromHead: true,
    }),
  );
  return (page.events ?? []).map((event) => event.message ?? '');
}

describe('RunTask', () => {
  it('runs the container command as a process, streams its output to awslogs in order, and reports its exit code', async () => {
    // Prepare
    const arn = await register(
      nodeCommand(
        "for (let i = 1; i <= 5; i++) console.log('line ' + i); console.log(''); console.error('to stderr'); console.log(process.env.APP_ENV, process.env.RELEASE, process.env.ECS_TASK_ARN === undefined ? 'no-arn' : 'arn', process.env.IMAGE, process.env.LOCAL_DATA_DIR ? 'data' : 'no-data', process.cwd()); process.exit(3);",
      ),
    );

    // Act
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: 'app',
        taskDefinition: arn,
        startedBy: 'sd-run-1',
        group: 'family:one-off',
        tags: [
          { key: 'stepdeploy:environment', value: 'eu' },
          { key: 'stepdeploy:step', value: 'migrate' },
        ],
        overrides: { containerOverrides: [{ name: 'app', environment: [{ name: 'RELEASE', value: 'r1' }] }] },
      }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;
    const task = await stoppedTask(taskArn);

    // Assess
    expect(run.failures).toEqual([]);
    expect(run.tasks?.[0]).toMatchObject({ lastStatus: 'PENDING', desiredStatus: 'RUNNING' });
    expect(taskArn).toMatch(/^arn:aws:ecs:eu-west-1:000000000000:task\/app\/[0-9a-f]{32}$/);
    expect(task).toMatchObject({
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      startedBy: 'sd-run-1',
      group: 'family:one-off',
      taskDefinitionArn: arn,
      containers: [{ name: 'app', exitCode: 3, lastStatus: 'STOPPED' }],
      tags: [
        { key: 'stepdeploy:environment', value: 'eu' },
        { key: 'stepdeploy:step', value: 'migrate' },
      ],
    });
    expect(task.startedAt).toBeInstanceOf(Date);
    expect(task.stoppedAt?.getTime()).toBeGreaterThanOrEqual(task.startedAt?.getTime() ?? Number.NaN);
    const lines = await logLines(taskArn);
    // stdout and stderr are separate pipes: only the order within each is defined.
    expect(lines.filter((line) => line.startsWith('line '))).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
    ]);
    expect(lines).toContain('to stderr');
    expect(lines).not.toContain('');
    expect(lines).toContain(`eu r1 arn registry.example/app:1 data ${local.repoRoot}`);
  });

  it('starts `count` tasks with the overridden command', async () => {
    // Prepare
    const arn = await register(nodeCommand("console.log('default command')"));

    // Act
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: 'app',
        taskDefinition: arn,
        count: 2,
        overrides: {
          containerOverrides: [
            { name: 'app', command: nodeCommand("console.log('overridden', process.env.APP_ENV)") },
          ],
        },
      }),
    );
    const taskArns = run.tasks?.map((task) => task.taskArn as string) ?? [];
    await Promise.all(taskArns.map((taskArn) => stoppedTask(taskArn)));

    // Assess
    expect(new Set(taskArns).size).toBe(2);
    expect(run.tasks?.[0]?.overrides?.containerOverrides?.[0]?.name).toBe('app');
    for (const taskArn of taskArns) expect(await logLines(taskArn)).toEqual(['overridden eu']);
  });

  it('gives a container with port mappings a free host port in PORT and reports it in networkBindings', async () => {
    // Prepare
    const output = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        containerDefinitions: [
          {
            name: 'web',
            image: 'web:1',
            command: nodeCommand('console.log("port=" + process.env.PORT)'),
            portMappings: [{ containerPort: 3000 }],
          },
        ],
      }),
    );

    // Act
    const run = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: output.taskDefinition?.taskDefinitionArn }),
    );
    const task = await stoppedTask(run.tasks?.[0]?.taskArn as string);

    // Assess
    const binding = task.containers?.[0]?.networkBindings?.[0];
    expect(binding).toMatchObject({ containerPort: 3000, bindIP: '127.0.0.1', protocol: 'tcp' });
    expect(binding?.hostPort).toBeGreaterThan(0);
  });

  it('returns the same tasks for the same clientToken in the same cluster without starting another process', async () => {
    // Prepare
    const counter = join(local.dataDir, 'starts.txt');
    const arn = await register(
      nodeCommand("require('node:fs').appendFileSync(process.env.LOCAL_DATA_DIR + '/starts.txt', 'x\\n')"),
    );
    const request = { cluster: 'app', taskDefinition: arn, clientToken: 'token-1', startedBy: 'sd-run-2' };

    // Act
    const [first, concurrent] = await Promise.all([
      ecs.send(new RunTaskCommand(request)),
      ecs.send(new RunTaskCommand(request)),
    ]);
    await stoppedTask(first.tasks?.[0]?.taskArn as string);
    const second = await ecs.send(new RunTaskCommand(request));
    await ecs.send(new CreateClusterCommand({ clusterName: 'other' }));
    const otherCluster = await ecs.send(new RunTaskCommand({ ...request, cluster: 'other' }));

    // Assess
    expect(first.tasks).toHaveLength(1);
    expect(concurrent.tasks?.map((task) => task.taskArn)).toEqual(first.tasks?.map((task) => task.taskArn));
    expect(second.tasks?.map((task) => task.taskArn)).toEqual(first.tasks?.map((task) => task.taskArn));
    expect(second.tasks?.[0]?.lastStatus).toBe('STOPPED');
    expect(otherCluster.tasks?.[0]?.taskArn).not.toBe(first.tasks?.[0]?.taskArn);
    await stoppedTask(otherCluster.tasks?.[0]?.taskArn as string, 'other');
    await eventually(() => (readFileSync(counter, 'utf8') === 'x\nx\n' ? true : undefined));
  });

  it('stops a task that fails to start with TaskFailedToStart and no exit code', async () => {
    // Prepare
    const arn = await register(['/nonexistent/command-that-does-not-exist']);

    // Act
    const run = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn }));
    const task = await stoppedTask(run.tasks?.[0]?.taskArn as string);

    // Assess
    expect(task.stopCode).toBe('TaskFailedToStart');
    expect(task.containers?.[0]?.exitCode).toBeUndefined();
    expect(task.containers?.[0]?.reason).toMatch(/^CannotStartContainerError: .*ENOENT/);
  });

  it('rejects an unknown cluster, an unknown task definition and a bad startedBy the way ECS does', async () => {
    // Prepare
    const arn = await register(nodeCommand(''));

    // Act
    const unknownCluster = ecs.send(new RunTaskCommand({ cluster: 'nope', taskDefinition: arn }));
    const unknownDefinition = ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: 'missing:4' }));

    // Assess
    await expect(unknownCluster).rejects.toMatchObject({
      name: 'ClusterNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(unknownDefinition).rejects.toMatchObject({ name: 'ClientException' });
    await expect(
      ecs.send(
        new RunTaskCommand({
          cluster: 'app',
          taskDefinition: arn,
          startedBy: 'release 2026-11-26.3 of the app',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/startedBy/),
    });
  });
});

describe('tasks with several containers', () => {
  const container = (name: string, essential: boolean, script: string) => ({
    name,
    image: `${name}:1`,
    essential,
    command: nodeCommand(script),
    stopTimeout: 5,
    logConfiguration: {
      logDriver: 'awslogs' as const,
      options: { 'awslogs-group': '/app/one-off', 'awslogs-stream-prefix': 'run' },
    },
  });

  it('stops the other containers with SIGTERM once the essential one exits, and keeps running when a non-essential one exits', async () => {
    // Prepare
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'pair',
        containerDefinitions: [
          container(
            'app',
            true,
            "const fs = require('node:fs'); const flag = process.env.LOCAL_DATA_DIR + '/release'; const t = setInterval(() => { if (fs.existsSync(flag)) { clearInterval(t); console.log('app done'); } }, 20);",
          ),
          container('helper', false, 'process.exit(4)'),
          container(
            'sidecar',
            false,
            "process.on('SIGTERM', () => { console.log('sidecar stopping'); process.exit(0); }); setInterval(() => {}, 1000);",
          ),
        ],
      }),
    );
    const run = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;
    const helperStopped = await eventually(async () => {
      const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }));
      const helper = tasks?.[0]?.containers?.find((item) => item.name === 'helper');
      return helper?.lastStatus === 'STOPPED' ? tasks?.[0] : undefined;
    });

    // Act
    writeFileSync(join(local.dataDir, 'release'), '');
    const task = await stoppedTask(taskArn);

    // Assess
    expect(helperStopped.lastStatus).toBe('RUNNING');
    expect(task.stopCode).toBe('EssentialContainerExited');
    expect(task.containers?.map((item) => [item.name, item.exitCode])).toEqual([
      ['app', 0],
      ['helper', 4],
      ['sidecar', 0],
    ]);
    const taskId = taskArn.split('/').pop();
    const sidecar = await logs.send(
      new GetLogEventsCommand({
        logGroupName: '/app/one-off',
        logStreamName: `run/sidecar/${taskId}`,
        startFromHead: true,
      }),
    );
    expect(sidecar.events?.map((event) => event.message)).toEqual(['sidecar stopping']);
  });
});

describe('StopTask', () => {
  it('sends SIGTERM, lets a container that handles it exit on its own, and records the reason', async () => {
    // Prepare
    const arn = await register(
      nodeCommand(
        "process.on('SIGTERM', () => { console.log('draining'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);",
      ),
    );
    const run = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn }));
    const taskArn = run.tasks?.[0]?.taskArn as string;
    await eventually(async () => ((await logLines(taskArn)).includes('ready') ? true : undefined));

    // Act
    const stopping = await ecs.send(
      new StopTaskCommand({ cluster: 'app', task: taskArn, reason: 'release r2 failed' }),
    );
    const task = await stoppedTask(taskArn);

    // Assess
    expect(stopping.task?.desiredStatus).toBe('STOPPED');
    expect(task).toMatchObject({
      stopCode: 'UserInitiated',
      stoppedReason: 'release r2 failed',
      containers: [{ exitCode: 0 }],
    });
    expect(await logLines(taskArn)).toEqual(['ready', 'draining']);
  });

  it('runs entryPoint then command, and sends SIGTERM to the main process only, as Docker does', async () => {
    // Prepare: a shell entry point that turns SIGTERM into SIGQUIT for its child, like the demo worker's.
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'worker',
        containerDefinitions: [
          {
            name: 'app',
            image: 'worker:1',
            entryPoint: [
              'sh',
              '-c',
              `"$@" & child=$!; trap 'kill -QUIT "$child"' TERM; wait "$child"; wait "$child"`,
              'entry',
            ],
            command: nodeCommand(
              "process.on('SIGQUIT', () => { console.log('drained on SIGQUIT'); process.exit(0); }); console.log('working'); setInterval(() => {}, 1000);",
            ),
            logConfiguration: {
              logDriver: 'awslogs',
              options: { 'awslogs-group': '/app/one-off', 'awslogs-stream-prefix': 'run' },
            },
          },
        ],
      }),
    );
    const run = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: taskDefinition?.taskDefinitionArn }),
    );
    const taskArn = run.tasks?.[0]?.taskArn as string;
    await eventually(async () => ((await logLines(taskArn)).includes('working') ? true : undefined));

    // Act
    await ecs.send(new StopTaskCommand({ cluster: 'app', task: taskArn, reason: 'old worker' }));
    const task = await stoppedTask(taskArn);

    // Assess
    expect(await logLines(taskArn)).toEqual(['working', 'drained on SIGQUIT']);
    expect(task.containers?.[0]?.exitCode).toBe(0);
  });

  it('kills a container that ignores SIGTERM once its stopTimeout (scaled) has passed', async () => {
    // Prepare
    const arn = await register(
      nodeCommand(
        "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000);",
      ),
      { stopTimeout: 5 },
    );
    const run = await ecs.send(new RunTaskCommand({ cluster: 'app', taskDefinition: arn }));
    const taskArn = run.tasks?.[0]?.taskArn as string;
    await eventually(async () => ((await logLines(taskArn)).includes('ready') ? true : undefined));

    // Act
    await ecs.send(new StopTaskCommand({ cluster: 'app', task: taskArn }));
    const task = await stoppedTask(taskArn);

    // Assess
    expect(task).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' });
    expect(task.containers?.[0]?.exitCode).toBe(137);
    expect(await logLines(taskArn)).toEqual(['ready', 'ignoring SIGTERM']);
  });
});

describe('DescribeTasks and ListTasks', () => {
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html: the default status filter is RUNNING.
  it('reports unknown tasks as MISSING failures and lists tasks by startedBy, family and desired status', async () => {
    // Prepare
    const arn = await register(nodeCommand('setInterval(() => {}, 1000)'), { stopTimeout: 2 });
    const running = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: arn, startedBy: 'run-a' }),
    );
    const other = await ecs.send(
      new RunTaskCommand({ cluster: 'app', taskDefinition: arn, startedBy: 'run-b' }),
    );
    const otherArn = other.tasks?.[0]?.taskArn as string;
    await ecs.send(new StopTaskCommand({ cluster: 'app', task: otherArn }));
    await stoppedTask(otherArn);
    const missing = 'arn:aws:ecs:eu-west-1:000000000000:task/app/00000000000000000000000000000000';

    // Act
    const described = await ecs.send(
      new DescribeTasksCommand({ cluster: 'app', tasks: [running.tasks?.[0]?.taskArn as string, missing] }),
    );
    const byStartedBy = await ecs.send(new ListTasksCommand({ cluster: 'app', startedBy: 'run-a' }));
    const stopped = await ecs.send(new ListTasksCommand({ cluster: 'app', desiredStatus: 'STOPPED' }));
    const byFamily = await ecs.send(new ListTasksCommand({ cluster: 'app', family: 'one-off' }));

    // Assess
    expect(described.tasks?.map((task) => task.taskArn)).toEqual([running.tasks?.[0]?.taskArn]);
    expect(described.tasks?.[0]?.tags).toBeUndefined();
    expect(described.failures).toEqual([{ arn: missing, reason: 'MISSING' }]);
    expect(byStartedBy.taskArns).toEqual([running.tasks?.[0]?.taskArn]);
    expect(stopped.taskArns).toEqual([otherArn]);
    expect(byFamily.taskArns).toEqual([running.tasks?.[0]?.taskArn]);
  });
});
