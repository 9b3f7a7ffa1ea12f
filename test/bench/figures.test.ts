import { describe, expect, it } from 'vitest';
import { trafficShiftSkewMs } from '../../bench/figures/cutover-skew.js';
import { overheadOf } from '../../bench/figures/overhead.js';
import { deploymentReaction, migrationReaction } from '../../bench/figures/reaction.js';
import { tailRows } from '../../bench/figures/tail-deploy.js';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES, transitionRows } from '../../bench/figures/transitions.js';
import {
  type DeploymentReport,
  environmentBytes,
  type ScenarioReport,
  type TaskReport,
} from '../../bench/scenario.js';

const task = (environment: string, step: string, times: Partial<TaskReport>): TaskReport => ({
  environment,
  step,
  taskArn: `arn:aws:ecs:us-east-1:000000000000:task/bench-${environment}/${step}`,
  exitCode: 0,
  ...times,
});

const deployment = (
  environment: string,
  service: string,
  fields: Partial<DeploymentReport>,
): DeploymentReport => ({
  environment,
  service,
  deploymentId: `d-${environment}-${service}${fields.creator === 'codeDeployRollback' ? '-rb' : ''}`,
  creator: 'user',
  description: `stepdeploy:bench-release:${environment}/${service}`,
  ...fields,
});

const report = (fields: Partial<ScenarioReport>): ScenarioReport => ({
  options: { environments: 2, services: 1, timeScale: 50, migrationSeconds: 60, stepSeconds: 10 },
  executionArn: 'arn:exec',
  status: 'SUCCEEDED',
  startMs: 0,
  stopMs: 1000,
  configBytes: 1000,
  deployConfigBytes: 900,
  synthSeconds: 1,
  pollSeconds: 5,
  watchSeconds: 600,
  history: {
    transitions: 40,
    events: 200,
    largestPayloadBytes: 2048,
    largestPayloadAt: 'X',
    largestPayloadParts: [['plan', 1024]],
    enteredByState: [],
    // 2 rounds over 30 s real = 1,500 s simulated at scale 50: 3 rounds at real time.
    checkLoops: [{ state: 'CheckMigrate', rounds: 2, spanMs: 30_000, eventsPerRound: 7 }],
  },
  tasks: [],
  deployments: [],
  ...fields,
});

describe('overheadOf', () => {
  it('subtracts the longest piece of work of each phase from the wall time', () => {
    const overhead = overheadOf(
      report({
        startMs: 0,
        stopMs: 1000,
        tasks: [
          task('a', 'assets', { createdAtMs: 10, stoppedAtMs: 60 }),
          task('b', 'assets', { createdAtMs: 10, stoppedAtMs: 110 }),
          task('a', 'migrate', { createdAtMs: 120, stoppedAtMs: 420 }),
          task('b', 'migrate', { createdAtMs: 120, stoppedAtMs: 320 }),
          task('a', 'tag-release', { createdAtMs: 900, stoppedAtMs: 950 }),
        ],
        deployments: [
          deployment('a', 's', { createTimeMs: 430, approvedAtMs: 830 }),
          deployment('b', 's', { createTimeMs: 430, approvedAtMs: 630 }),
          // A rollback is not work the release waits for.
          deployment('b', 's', { creator: 'codeDeployRollback', createTimeMs: 0, approvedAtMs: 1000 }),
        ],
      }),
    );
    expect(overhead.phasesMs).toEqual({ assets: 100, migrate: 300, deploy: 400, 'tag-release': 50 });
    expect(overhead.criticalPathMs).toBe(850);
    expect(overhead.overheadMs).toBe(150);
    expect(overhead.overheadPercent).toBeCloseTo(15);
  });

  it('refuses a task that did not run to its end', () => {
    expect(() => overheadOf(report({ tasks: [task('a', 'migrate', { createdAtMs: 1 })] }))).toThrow(
      /no createdAt\/stoppedAt/,
    );
  });
});

describe('migrationReaction', () => {
  const failMigration = { environment: 'b', afterSeconds: 60 };
  const options = { ...report({}).options, failMigration };

  it('runs from the failed migration stopping to the last sibling StopTask', () => {
    const reaction = migrationReaction(
      report({
        options,
        tasks: [
          task('a', 'migrate', { stoppingAtMs: 1300, stoppedAtMs: 1400, exitCode: 143 }),
          task('b', 'migrate', { stoppedAtMs: 1000, exitCode: 1 }),
          task('c', 'migrate', { stoppingAtMs: 1250, stoppedAtMs: 1300, exitCode: 143 }),
          task('a', 'assets', { stoppedAtMs: 500 }),
        ],
      }),
    );
    expect(reaction).toEqual({ failedAtMs: 1000, lastRequestAtMs: 1300, requests: 2, reactionMs: 300 });
  });

  it('refuses a run where a sibling was never stopped', () => {
    const tasks = [
      task('a', 'migrate', { stoppedAtMs: 1400, exitCode: 0 }),
      task('b', 'migrate', { stoppedAtMs: 1000, exitCode: 1 }),
    ];
    expect(() => migrationReaction(report({ options, tasks }))).toThrow(
      /not every sibling migration was stopped: a/,
    );
  });
});

describe('deploymentReaction', () => {
  const options = {
    ...report({}).options,
    failDeployment: { environment: 'b', service: 's', afterSeconds: 60 },
  };

  it('runs from the failed deployment to the last StopDeployment or rollback deployment', () => {
    const reaction = deploymentReaction(
      report({
        options,
        deployments: [
          deployment('b', 's', { status: 'Failed', createTimeMs: 100, completeTimeMs: 1000 }),
          deployment('a', 's', { status: 'Stopped', createTimeMs: 100, completeTimeMs: 1200 }),
          // c/s had succeeded: the release redeployed its previous revision.
          deployment('c', 's', { status: 'Succeeded', createTimeMs: 100, completeTimeMs: 900 }),
          deployment('c', 's', {
            deploymentId: 'd-c-redeploy',
            description: 'stepdeploy:bench-release:c/s:rollback',
            status: 'Succeeded',
            createTimeMs: 1500,
          }),
          deployment('a', 's', { creator: 'codeDeployRollback', status: 'Succeeded', createTimeMs: 1200 }),
        ],
      }),
    );
    expect(reaction).toEqual({ failedAtMs: 1000, lastRequestAtMs: 1500, requests: 2, reactionMs: 500 });
  });

  it('refuses a run where a deployment was left alone', () => {
    const deployments = [
      deployment('b', 's', { status: 'Failed', completeTimeMs: 1000 }),
      deployment('a', 's', { status: 'Succeeded', createTimeMs: 100 }),
    ];
    expect(() => deploymentReaction(report({ options, deployments }))).toThrow(
      /not every deployment was rolled back: a\/s \(Succeeded\)/,
    );
  });
});

describe('transitionRows', () => {
  it('gives the reference release the transitions target and the large one the events and payload targets', () => {
    const reference = transitionRows(report({}), 'reference');
    const large = transitionRows(report({ configBytes: 50_000 }), 'large');
    const targetOf = (rows: typeof reference, name: string) => rows.find((row) => row.name === name)?.target;

    expect(targetOf(reference, 'state transitions')).toEqual({ max: 150 });
    // The round the scale compressed counts at its cost: 2 transitions, 7 events.
    expect(reference.find((row) => row.name === 'state transitions')?.value).toBe(42);
    expect(reference.find((row) => row.name === 'history events')?.value).toBe(207);
    expect(reference.find((row) => row.name === 'state transitions')?.note).toMatch(
      /CheckMigrate 2; measured 40 transitions \/ 200 events, plus 1 check rounds/,
    );
    expect(targetOf(reference, 'history events')).toBeUndefined();
    expect(targetOf(large, 'history events')).toEqual({ max: 2500 });
    expect(targetOf(large, 'largest state payload')).toEqual({ max: 32 });
    expect(large.find((row) => row.name === 'largest state payload')?.value).toBe(2);
    expect(targetOf(large, 'handler environment variables')).toEqual({ max: LAMBDA_ENVIRONMENT_LIMIT_BYTES });
    expect(large.find((row) => row.name === 'handler environment variables')?.note).toMatch(/4 KB/);
  });

  it('refuses a release that did not succeed', () => {
    expect(() => transitionRows(report({ status: 'FAILED' }), 'reference')).toThrow(/ended FAILED/);
  });
});

describe('tailRows', () => {
  const line = (arn: string, seq: number, at: number) => ({
    receivedMs: at + 100,
    ingestedMs: at + 60,
    text: JSON.stringify({ type: 'log', taskArn: arn, message: `${seq} ${at}` }),
  });

  it('reports latency, lost and duplicated lines and the GetLogEvents rate', () => {
    const rows = tailRows(
      report({
        options: { ...report({}).options, tail: { lines: 2, linesPerSecond: 10 } },
        tail: {
          lines: [line('a', 0, 0), line('a', 1, 10), line('b', 0, 20), line('b', 0, 20)],
          getLogEventsAtMs: [0, 500, 2000],
          exitCode: 0,
          stderr: '',
        },
      }),
    );
    const value = (name: string) => rows.find((row) => row.name === name)?.value;
    expect(value('line latency from write p50')).toBe(100);
    expect(value('line latency from ingestion p50')).toBe(40);
    // The awslogs driver's 5 s at the report's time scale (50) come on top of tail-deploy's target.
    expect(rows.find((row) => row.name === 'line latency from write p95')?.target).toEqual({ max: 3100 });
    expect(value('lines lost')).toBe(1);
    expect(value('lines duplicated')).toBe(1);
    expect(value('GetLogEvents calls/s (average)')).toBe(1.5);
    expect(value('GetLogEvents calls/s (busiest 1 s)')).toBe(2);
  });

  it('refuses a follow that tail-deploy did not finish', () => {
    const tail = { lines: [], getLogEventsAtMs: [], exitCode: 3, stderr: 'cannot read the run' };
    expect(() =>
      tailRows(report({ options: { ...report({}).options, tail: { lines: 1, linesPerSecond: 1 } }, tail })),
    ).toThrow(/tail-deploy exited 3.*cannot read the run/);
  });
});

describe('environmentBytes', () => {
  it('counts names and values, with subnet and security group ids as long as in AWS', () => {
    const config = {
      environments: [
        { name: 'us', network: { subnets: ['stepdeploy-local-Subnet-LONG'], securityGroups: ['x'] } },
      ],
    };
    const expected = JSON.stringify({
      environments: [
        {
          name: 'us',
          network: { subnets: ['subnet-00000000000000000'], securityGroups: ['sg-00000000000000000'] },
        },
      ],
    });
    expect(environmentBytes({ STEPDEPLOY_CONFIG: JSON.stringify(config), NODE_OPTIONS: '--x' })).toBe(
      'STEPDEPLOY_CONFIG'.length + expected.length + 'NODE_OPTIONS'.length + 3,
    );
  });
});

describe('trafficShiftSkewMs', () => {
  it.each<[string, DeploymentReport[], number | null]>([
    [
      'latest minus earliest AllowTraffic of the release',
      [
        deployment('e00', 's00', { allowTrafficStartMs: 1_000 }),
        deployment('e00', 's01', { allowTrafficStartMs: 1_040 }),
        deployment('e01', 's00', { allowTrafficStartMs: 1_015 }),
      ],
      40,
    ],
    [
      'leaves out rollbacks and other releases',
      [
        deployment('e00', 's00', { allowTrafficStartMs: 1_000 }),
        deployment('e00', 's01', { allowTrafficStartMs: 1_010 }),
        deployment('e00', 's00', { creator: 'codeDeployRollback', allowTrafficStartMs: 9_000 }),
        deployment('e01', 's00', { description: 'stepdeploy:other:e01/s00', allowTrafficStartMs: 100 }),
      ],
      10,
    ],
    [
      'null when fewer than two moved traffic',
      [deployment('e00', 's00', { allowTrafficStartMs: 1_000 }), deployment('e00', 's01', {})],
      null,
    ],
  ])('%s', (_, deployments, expected) => {
    expect(trafficShiftSkewMs(deployments, 'bench-release')).toBe(expected);
  });
});
