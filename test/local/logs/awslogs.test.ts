import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
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

/** A local AWS whose awslogs driver publishes every `awslogsIntervalMs` (AWS time, at time scale 10). */
async function start(awslogsIntervalMs?: number) {
  const started = await startLocal({ timeScale: 10, awslogsIntervalMs }, 'eu-west-1');
  local = started.local;
  await started.ecs.send(new CreateClusterCommand({ clusterName: 'app' }));
  return started;
}

async function runTask(
  ecs: ECSClient,
  script: string,
  options: Record<string, string> = {},
): Promise<{ taskArn: string; stream: string }> {
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'one-off',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app:1',
          command: nodeCommand(script),
          stopTimeout: 2,
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/one-off', 'awslogs-stream-prefix': 'run', ...options },
          },
        },
      ],
    }),
  );
  const run = await ecs.send(
    new RunTaskCommand({ cluster: 'app', taskDefinition: taskDefinition?.taskDefinitionArn }),
  );
  const taskArn = run.tasks?.[0]?.taskArn as string;
  return { taskArn, stream: `run/app/${taskArn.split('/').pop()}` };
}

const stoppedTask = (ecs: ECSClient, taskArn: string) =>
  eventually<Task>(async () => {
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }));
    return tasks?.[0]?.lastStatus === 'STOPPED' ? tasks[0] : undefined;
  });

const events = async (logs: CloudWatchLogsClient, stream: string) =>
  (
    await logs.send(
      new GetLogEventsCommand({ logGroupName: '/one-off', logStreamName: stream, startFromHead: true }),
    )
  ).events ?? [];

/**
 * Writes `first` (and, once it is in the pipe, a file `wrote`), waits for a file `go` in the
 * data directory, then writes `second` and exits.
 */
const WRITE_THEN_WAIT =
  "const fs = require('node:fs'); const dir = process.env.LOCAL_DATA_DIR; process.stdout.write('first\\n', () => fs.writeFileSync(dir + '/wrote', '')); const t = setInterval(() => { if (fs.existsSync(dir + '/go')) { clearInterval(t); console.log('second'); } }, 20);";

// The awslogs driver (https://github.com/moby/moby/blob/master/daemon/logger/awslogs/cloudwatchlogs.go) creates the
// log stream when the container starts, publishes a batch every 5 s (batchPublishFrequency) and the rest on close;
// https://docs.docker.com/config/containers/logging/awslogs/ documents awslogs-create-group.
describe('the awslogs driver', () => {
  it('creates the stream when the container starts and publishes what it wrote in batches, the rest when it stops', async () => {
    // Prepare: no batch falls due during the test (an hour between batches).
    const { ecs, logs, local: aws } = await start(3_600_000);
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/one-off' }));
    const { taskArn, stream } = await runTask(ecs, WRITE_THEN_WAIT);

    // Act
    const streams = await eventually(async () => {
      const described = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/one-off' }));
      return described.logStreams?.length ? described.logStreams : undefined;
    });
    await eventually(() => (existsSync(join(aws.dataDir, 'wrote')) ? true : undefined));
    // The line is in the pipe: give the local AWS a moment to read it before looking.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whileRunning = await events(logs, stream);
    writeFileSync(join(aws.dataDir, 'go'), '');
    await stoppedTask(ecs, taskArn);
    const afterStop = await events(logs, stream);

    // Assess
    expect(streams.map((item) => item.logStreamName)).toEqual([stream]);
    expect(whileRunning).toEqual([]);
    expect(afterStop.map((event) => event.message)).toEqual(['first', 'second']);
    for (const event of afterStop) {
      expect(event.timestamp).toBeLessThanOrEqual(event.ingestionTime as number);
    }
  });

  it('publishes while the container runs once a batch is due', async () => {
    // Prepare: a batch every 100 ms of AWS time.
    const { ecs, logs, local: aws } = await start(100);
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/one-off' }));
    const { taskArn, stream } = await runTask(ecs, WRITE_THEN_WAIT);

    // Act
    const published = await eventually(async () => {
      const found = await events(logs, stream);
      return found.length > 0 ? found : undefined;
    });
    const task = (await ecs.send(new DescribeTasksCommand({ cluster: 'app', tasks: [taskArn] }))).tasks?.[0];
    writeFileSync(join(aws.dataDir, 'go'), '');
    await stoppedTask(ecs, taskArn);

    // Assess
    expect(published.map((event) => event.message)).toEqual(['first']);
    expect(task?.lastStatus).toBe('RUNNING');
  });

  // The stopped reason as ECS shows it: prakhar1989/docker-curriculum#253, Rayraegah/terraform-aws-hasura#25.
  it('keeps the container from starting when the log group is missing, unless awslogs-create-group is true', async () => {
    // Prepare
    const { ecs, logs, local: aws } = await start();
    const touch =
      "require('node:fs').writeFileSync(process.env.LOCAL_DATA_DIR + '/started', ''); console.log('up');";

    // Act
    const refused = await runTask(ecs, touch);
    const task = await stoppedTask(ecs, refused.taskArn);
    const startedWithoutGroup = existsSync(join(aws.dataDir, 'started'));
    const created = await runTask(ecs, touch, { 'awslogs-create-group': 'true' });
    await stoppedTask(ecs, created.taskArn);
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/one-off' }));

    // Assess
    const reason =
      'CannotStartContainerError: Error response from daemon: failed to initialize logging driver: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.';
    expect(task).toMatchObject({ stopCode: 'TaskFailedToStart', stoppedReason: reason });
    expect(task.containers?.[0]).toMatchObject({ reason });
    expect(task.containers?.[0]?.exitCode).toBeUndefined();
    expect(startedWithoutGroup).toBe(false);
    expect(groups.logGroups?.map((group) => group.logGroupName)).toEqual(['/one-off']);
    expect((await events(logs, created.stream)).map((event) => event.message)).toEqual(['up']);
  });
});
