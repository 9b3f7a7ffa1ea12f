import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../local/local-aws.js';
import { awsCli, type CliResult, LOCAL_ADMIN } from '../aws-cli.js';
import { eventually, nodeCommand, startLocal, stopAndAssertNoProcesses } from './local-aws-fixture.js';

let local: LocalAws;

beforeEach(async () => {
  ({ local } = await startLocal({}, 'eu-west-1'));
});

afterEach(async () => {
  await stopAndAssertNoProcesses(local);
});

/** Runs the AWS CLI against the local AWS as its administrator, in the local AWS's Region. */
async function aws(...args: string[]): Promise<CliResult> {
  return awsCli(local.endpoint, args, LOCAL_ADMIN, 'eu-west-1');
}

describe('AWS CLI', () => {
  it('runs a task, reads its status and its log through the AWS CLI, and shows AWS-shaped errors', async () => {
    // Prepare
    local.ecs.createCluster('eu-west-1', 'eu');
    local.logs.createLogGroup('eu-west-1', '/migrate');
    local.ecs.registerTaskDefinition('eu-west-1', {
      family: 'migrate',
      containerDefinitions: [
        {
          name: 'app',
          image: 'app:1',
          command: nodeCommand("console.log('migrated 3 tables')"),
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/migrate', 'awslogs-stream-prefix': 'run' },
          },
        },
      ],
    });

    // Act
    const run = await aws(
      'ecs',
      'run-task',
      '--cluster',
      'eu',
      '--task-definition',
      'migrate',
      '--started-by',
      'cli',
    );
    const taskArn = run.ok ? (run.json as { tasks: Array<{ taskArn: string }> }).tasks[0].taskArn : '';
    await eventually(() => (local.ecs.describe(taskArn, false).lastStatus === 'STOPPED' ? true : undefined));
    const [described, log, missing] = await Promise.all([
      aws('ecs', 'describe-tasks', '--cluster', 'eu', '--tasks', taskArn),
      aws(
        'logs',
        'get-log-events',
        '--log-group-name',
        '/migrate',
        '--log-stream-name',
        `run/app/${taskArn.split('/').pop()}`,
      ),
      aws('ecs', 'describe-tasks', '--cluster', 'nope', '--tasks', taskArn),
    ]);

    // Assess
    expect(run.ok).toBe(true);
    expect(described).toMatchObject({
      ok: true,
      json: {
        tasks: [{ lastStatus: 'STOPPED', startedBy: 'cli', containers: [{ exitCode: 0 }] }],
        failures: [],
      },
    });
    expect(log).toMatchObject({ ok: true, json: { events: [{ message: 'migrated 3 tables' }] } });
    expect(missing).toMatchObject({
      ok: false,
      stderr: expect.stringContaining('(ClusterNotFoundException)'),
    });
  });
});
