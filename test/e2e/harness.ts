import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  DEMO_SERVICES,
  deploymentsOf,
  executionHistory,
  iamDenials,
  pollUntil,
  type SampleAws,
  startSampleAws,
} from '../../examples/demo/sample-aws.js';
import { TAGS } from '../../lambdas/shared/markers.js';
import type { Plan, RunState } from '../../lambdas/shared/types.js';
import type { BusEvent } from '../../local/events/events-model.js';
import { awsCliOutput } from '../aws-cli.js';

/**
 * Waits run this many times faster than in AWS: a release takes seconds, while the
 * replacement tasks (real node processes) still get a few real seconds to become healthy.
 */
export const TIME_SCALE = 100;

/** Every environment × service pair of the sample stack. */
export const GROUPS = DEMO_ENVIRONMENTS.flatMap((environment) =>
  DEMO_SERVICES.map((service) => ({ environment, service })),
);

/**
 * Pids of the live processes started with `LOCAL_DATA_DIR=<dataDir>`: the task processes
 * of one local AWS, told apart from every other process on the machine (other test
 * files run their own local AWS at the same time).
 */
export function taskProcessesOf(dataDir: string): number[] {
  const marker = `LOCAL_DATA_DIR=${dataDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (`${environ}\0`.includes(marker)) pids.push(Number(entry));
    } catch {
      // It exited while we looked, or belongs to another user.
    }
  }
  return pids;
}

/**
 * A fresh local AWS with the sample stack for each test, stopped after it; the test fails
 * if any task process outlives the stop, or if IAM denied any call of the handlers (every
 * scenario must run on the permissions the construct synthesizes) unless `allowDenials`.
 */
export function useSampleAws(
  options: {
    timeScale?: number;
    runTimeoutSeconds?: number;
    template?: Record<string, unknown>;
    allowDenials?: boolean;
  } = {},
): () => SampleAws {
  let current: SampleAws | undefined;
  beforeEach(async () => {
    const aws = await startSampleAws({
      timeScale: options.timeScale ?? TIME_SCALE,
      runTimeoutSeconds: options.runTimeoutSeconds,
      template: options.template,
    });
    current = aws;
    // The services' tasks run from the start: seeing them proves the leftover check can see anything.
    await pollUntil('the services’ task processes', async () =>
      taskProcessesOf(aws.dataDir).length > 0 ? true : undefined,
    );
    // The first start on a fresh clone synthesizes the sample stack, in every test file at once.
  }, 240_000);
  afterEach(async () => {
    const aws = current;
    current = undefined;
    if (!aws) return;
    const denials = options.allowDenials ? [] : await iamDenials(aws.endpoint);
    await stopLeavingNothingRunning(aws);
    expect(denials, 'calls the local AWS denied').toEqual([]);
  }, 60_000);
  return () => {
    if (!current) throw new Error('The local AWS is only available inside a test.');
    return current;
  };
}

/**
 * Stops the local AWS and checks no task process outlived it (killing any that did, so one test
 * leaves nothing to the next), then removes its data folder.
 */
export async function stopLeavingNothingRunning(aws: SampleAws): Promise<void> {
  await aws.stop();
  const left = await pollUntil(
    'task processes to end',
    async () => {
      const pids = taskProcessesOf(aws.dataDir);
      return pids.length === 0 ? pids : undefined;
    },
    { timeoutMs: 10_000 },
  ).catch(() => taskProcessesOf(aws.dataDir));
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  rmSync(aws.dataDir, { recursive: true, force: true });
  expect(left, 'task processes left running after the local AWS stopped').toEqual([]);
}

/** The state as it left the last `TaskStateExited` of `name` (the whole `$`), if it ran. */
export function stateAfter(events: HistoryEvent[], name: string): RunState | undefined {
  const exited = events.filter((event) => event.stateExitedEventDetails?.name === name).at(-1);
  const output = exited?.stateExitedEventDetails?.output;
  return output ? (JSON.parse(output) as RunState) : undefined;
}

/** The run state as the execution left it (the last state exited). */
export async function finalState(aws: SampleAws, executionArn: string): Promise<RunState> {
  const events = await executionHistory(aws.clients.sfn, executionArn);
  const exited = events.filter((event) => event.stateExitedEventDetails?.output).at(-1);
  if (!exited?.stateExitedEventDetails?.output) throw new Error(`Execution ${executionArn} exited no state.`);
  return JSON.parse(exited.stateExitedEventDetails.output) as RunState;
}

/** The Plan of a run, from its history. */
export async function planOf(aws: SampleAws, executionArn: string) {
  const events = await executionHistory(aws.clients.sfn, executionArn);
  const plan = stateAfter(events, 'Plan')?.plan;
  if (!plan) throw new Error(`Execution ${executionArn} has no Plan output.`);
  return plan;
}

/** The task definition revision (`family:revision`) of a service's PRIMARY task set. */
/**
 * The `family:revision` the plan recorded for a service of the sample stack, whose services'
 * task definition families are `stepdeploy-demo-<environment>-<service>` (the configuration's
 * `family`).
 */
export function plannedRevision(
  plan: Pick<Plan, 'services'>,
  environment: string,
  service: string,
  which: 'previous' | 'next',
): string {
  const number = plan.services[environment]?.[service]?.[which === 'previous' ? 0 : 1];
  if (number === undefined)
    throw new Error(`The plan has no ${which} revision for ${environment}/${service}.`);
  return `stepdeploy-demo-${environment}-${service}:${number}`;
}

export async function primaryRevision(aws: SampleAws, environment: string, service: string): Promise<string> {
  const { services } = await aws.clients.ecs.send(
    new DescribeServicesCommand({ cluster: `stepdeploy-demo-${environment}`, services: [service] }),
  );
  const primary = services?.[0]?.taskSets?.find((set) => set.status === 'PRIMARY')?.taskDefinition;
  if (!primary) throw new Error(`${environment}/${service} has no PRIMARY task set.`);
  return primary.slice(primary.lastIndexOf('/') + 1);
}

/**
 * Waits until every group is back on the revision it ran before the run, with nothing in
 * flight; with `release`, also expects the release's own deployments on every group.
 */
export async function expectEveryGroupOnPrevious(
  aws: SampleAws,
  executionArn: string,
  release?: string,
): Promise<void> {
  const plan = await planOf(aws, executionArn);
  for (const { environment, service } of GROUPS) {
    const previous = plannedRevision(plan, environment, service, 'previous');
    await pollUntil(`${environment}/${service} back on ${previous}`, async () => {
      const deployments = await deploymentsOf(aws.clients.codedeploy, environment, service);
      const inFlight = deployments.some((d) =>
        ['Created', 'Queued', 'InProgress', 'Ready'].includes(d.status ?? ''),
      );
      return !inFlight && (await primaryRevision(aws, environment, service)) === previous ? true : undefined;
    });
    if (release === undefined) continue;
    const ours = (await deploymentsOf(aws.clients.codedeploy, environment, service)).filter((d) =>
      d.description?.includes(`stepdeploy:${release}:${environment}/${service}`),
    );
    expect(ours.length, `${environment}/${service} deployments of the release`).toBeGreaterThan(0);
  }
}

/** The image of a task definition's `app` container. */
export async function imageOf(aws: SampleAws, taskDefinition: string): Promise<string | undefined> {
  const { taskDefinition: described } = await aws.clients.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition }),
  );
  return described?.containerDefinitions?.find((container) => container.name === 'app')?.image;
}

/** The events put on the local EventBridge, oldest first. */
export async function busEvents(aws: SampleAws): Promise<BusEvent[]> {
  const res = await fetch(`${aws.endpoint}/_local/events`);
  return ((await res.json()) as { events: BusEvent[] }).events;
}

/** The announcements of one release. */
export async function announcementsOf(aws: SampleAws, release: string): Promise<BusEvent[]> {
  return (await busEvents(aws)).filter(
    (event) => event.source === 'stepdeploy' && JSON.stringify(event.detail).includes(`"${release}"`),
  );
}

/** Describes tasks by ARN (one cluster per call, as ECS wants). */
export async function describeTasks(aws: SampleAws, taskArns: string[]): Promise<Task[]> {
  const byCluster = new Map<string, string[]>();
  for (const arn of taskArns) {
    const cluster = arn.split('/')[1] ?? '';
    byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), arn]);
  }
  const tasks: Task[] = [];
  for (const [cluster, arns] of byCluster) {
    const described = await aws.clients.ecs.send(
      new DescribeTasksCommand({ cluster, tasks: arns, include: ['TAGS'] }),
    );
    tasks.push(...(described.tasks ?? []));
  }
  return tasks;
}

/** The migration versions recorded in an environment's database; empty when it does not exist. */
export function appliedMigrations(dataDir: string, environment: string): string[] {
  const file = path.join(dataDir, `${environment}.sqlite`);
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as string[];
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

/** Expects one task per environment and phase of the run, and one deployment of the release per group. */
export async function expectOneOfEach(aws: SampleAws, executionArn: string, release: string): Promise<void> {
  const plan = await planOf(aws, executionArn);
  // Every task the local AWS ever started, stopped ones included: ECS itself forgets a stopped
  // task an hour after it stopped (36 s of real time at the tests' scale), which a slow run outlasts.
  const tasks = aws.local.ecs
    .allTasks()
    .filter((record) => record.task.startedBy === plan.runId)
    .map((record) => aws.local.ecs.tasks.describe(record.task.taskArn as string, true));
  const counts = new Map<string, number>();
  for (const task of tasks) {
    const key = `${task.tags?.find((t) => t.key === TAGS.environment)?.value}/${task.tags?.find((t) => t.key === TAGS.step)?.value}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const expected = new Map(
    DEMO_ENVIRONMENTS.flatMap((environment) =>
      ['assets', 'migrate', 'tag-release'].map((step): [string, number] => [`${environment}/${step}`, 1]),
    ),
  );
  expect(counts).toEqual(expected);
  for (const { environment, service } of GROUPS) {
    const ours = (await deploymentsOf(aws.clients.codedeploy, environment, service)).filter((d) =>
      d.description?.includes(`stepdeploy:${release}:${environment}/${service}`),
    );
    expect(ours, `${environment}/${service}`).toHaveLength(1);
  }
}

/**
 * Sets an alarm's state as an operator would, with Debian's AWS CLI v2 at /usr/bin/aws
 * (`aws cloudwatch set-alarm-state`, CloudWatch's query protocol), as the account's administrator.
 */
export async function setAlarmState(
  aws: SampleAws,
  alarmName: string,
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA',
  reason: string,
): Promise<void> {
  await awsCliOutput(aws.endpoint, [
    'cloudwatch',
    'set-alarm-state',
    '--alarm-name',
    alarmName,
    '--state-value',
    state,
    '--state-reason',
    reason,
  ]);
}
