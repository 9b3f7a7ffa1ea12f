import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type AnnounceDeps,
  announce,
  announcementOf,
  decideOutcome,
} from '../../../lambdas/announce/core.js';
import type { AnnounceState } from '../../../lambdas/announce/schema.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import { AnnouncementFailedError, TransientError } from '../../../lambdas/shared/errors.js';
import type { DeployState, RollbackState, TaskPhaseState } from '../../../lambdas/shared/types.js';
import { EXECUTION_ARN, fakeClock, taskPlan, testConfig, throttled } from '../shared/fixtures.js';

const events = mockClient(EventBridgeClient);
const deps: AnnounceDeps = {
  clients: createClients({ events: EventBridgeClient }),
  clock: fakeClock(),
  config: testConfig({ eventBusName: 'releases' }),
};

const plan = taskPlan();
const succeededPhase = (phase: TaskPhaseState['phase']): TaskPhaseState => ({
  phase,
  tasks: [],
  status: 'SUCCEEDED',
  failures: [],
});
const failedMigrate: TaskPhaseState = {
  phase: 'migrate',
  tasks: [],
  status: 'FAILED',
  failures: [
    {
      environment: 'eu',
      step: 'migrate',
      taskArn: 'arn:aws:ecs:eu-west-1:1:task/eu-cluster/eu1',
      exitCode: 1,
      stopCode: 'EssentialContainerExited',
      reason: 'Essential container in task exited',
    },
  ],
  stopped: ['arn:aws:ecs:us-east-1:1:task/us-cluster/us1'],
};
const failedPostDeploy: TaskPhaseState = {
  phase: 'post-deploy',
  tasks: [],
  status: 'FAILED',
  failures: [
    {
      environment: 'au',
      step: 'tag-release',
      exitCode: 3,
      stopCode: 'EssentialContainerExited',
      reason: 'exited',
    },
  ],
};
const deployFailed: DeployState = {
  deployments: {},
  status: 'FAILED',
  failures: [
    {
      environment: 'eu',
      service: 'web',
      deploymentId: 'd-EU1',
      status: 'Failed',
      reason: 'health checks failed',
    },
  ],
};
const rolledBack = (status: RollbackState['status']): RollbackState => ({
  status,
  rollbacks: [
    { environment: 'eu', service: 'web', deploymentId: 'd-EU1', action: 'none', status: 'Failed' },
    {
      environment: 'us',
      service: 'web',
      deploymentId: 'd-US1',
      action: 'redeploy',
      rollbackDeploymentId: 'd-US2',
      status: status === 'FAILED' ? 'Stopped' : 'Succeeded',
    },
  ],
});
const lambdaError = (errorType: string, errorMessage: string) => ({
  Error: errorType,
  Cause: JSON.stringify({ errorType, errorMessage, trace: [] }),
});

const base: AnnounceState = {
  release: '2026-11-26.3',
  plan,
  preDeploy: succeededPhase('pre-deploy'),
  migrate: succeededPhase('migrate'),
};

describe('announcementOf', () => {
  it.each<{ name: string; state: AnnounceState; outcome: string; detailType: string; error?: string }>([
    {
      name: 'everything succeeded',
      state: {
        ...base,
        deploy: { deployments: {}, status: 'SUCCEEDED', failures: [] },
        postDeploy: succeededPhase('post-deploy'),
      },
      outcome: 'SUCCEEDED',
      detailType: 'Release Succeeded',
    },
    {
      name: 'a post-deploy step failed',
      state: { ...base, postDeploy: failedPostDeploy },
      outcome: 'SUCCEEDED',
      detailType: 'Release Succeeded',
    },
    {
      name: 'post-deploy threw and retiring failed',
      state: {
        ...base,
        postDeployError: lambdaError('TaskFailedError', 'x'),
        retireError: lambdaError('RetireFailedError', 'y'),
      },
      outcome: 'SUCCEEDED',
      detailType: 'Release Succeeded',
    },
    {
      name: 'a migration failed',
      state: { ...base, migrate: failedMigrate },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'TaskFailedError',
    },
    {
      name: 'a pre-deploy step failed',
      state: { ...base, preDeploy: { ...failedMigrate, phase: 'pre-deploy' } },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'TaskFailedError',
    },
    {
      name: 'the input was invalid',
      state: { release: undefined, error: lambdaError('ValidationError', 'input.release: required') },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'ValidationError',
    },
    {
      name: 'another release runs',
      state: { release: 'r2', error: lambdaError('DeployInProgressError', 'Execution "r1" is running') },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'DeployInProgressError',
    },
    {
      name: 'a foreign deployment is active',
      state: { ...base, error: lambdaError('ForeignDeploymentError', 'd-X is active on eu/web') },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'ForeignDeploymentError',
    },
    {
      name: 'deployments failed and no rollback ran',
      state: { ...base, deploy: deployFailed },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'DeploymentFailedError',
    },
    {
      name: 'deployments failed and were rolled back',
      state: { ...base, deploy: deployFailed, rollback: rolledBack('SUCCEEDED') },
      outcome: 'ROLLED_BACK',
      detailType: 'Release Rolled Back',
      error: 'DeploymentFailedError',
    },
    {
      name: 'a deployment check threw and the rollback succeeded',
      state: {
        ...base,
        error: lambdaError('DeploymentFailedError', 'eu/web failed'),
        rollback: rolledBack('SUCCEEDED'),
      },
      outcome: 'ROLLED_BACK',
      detailType: 'Release Rolled Back',
      error: 'DeploymentFailedError',
    },
    {
      name: 'the rollback did not get back',
      state: { ...base, deploy: deployFailed, rollback: rolledBack('FAILED') },
      outcome: 'FAILED',
      detailType: 'Release Failed',
      error: 'RollbackFailedError',
    },
  ])('$name -> $outcome', ({ state, outcome, detailType, error }) => {
    // Act
    const announcement = announcementOf(state);

    // Assess
    expect(decideOutcome(state)).toBe(outcome);
    expect(announcement.outcome).toBe(outcome);
    expect(announcement.detailType).toBe(detailType);
    expect(announcement.error).toBe(error);
    expect(announcement.cause === undefined).toBe(outcome === 'SUCCEEDED');
  });

  it('explains a failed migration per environment: exit code, stop code and reason', () => {
    const announcement = announcementOf({ ...base, migrate: failedMigrate });

    expect(announcement.summary).toBe(
      'Release 2026-11-26.3 failed in us, eu, au: migrate failed: eu/migrate (exit code 1).',
    );
    expect(announcement.cause).toBe(
      'migrate failed:\n  eu/migrate: exit code 1, stop code EssentialContainerExited: Essential container in task exited',
    );
  });

  it('lists failed post-deploy steps in the summary of a release that succeeded', () => {
    const announcement = announcementOf({ ...base, postDeploy: failedPostDeploy });

    expect(announcement.summary).toBe(
      'Release 2026-11-26.3 succeeded in us, eu, au; post-deploy steps failed: au/tag-release (exit code 3).',
    );
  });

  it('reports each deployment and rollback in the cause of a rolled back release', () => {
    const announcement = announcementOf({ ...base, deploy: deployFailed, rollback: rolledBack('SUCCEEDED') });

    expect(announcement.summary).toBe(
      'Release 2026-11-26.3 rolled back in us, eu, au: deployment failed: eu/web (Failed).',
    );
    expect(announcement.cause).toBe(
      [
        'deployments failed:',
        '  eu/web: d-EU1 Failed: health checks failed',
        'rollbacks succeeded:',
        '  eu/web: none: Failed',
        '  us/web: redeploy via d-US2: Succeeded',
      ].join('\n'),
    );
  });

  it('puts the caught error first in the cause of a release rolled back after a check failed on it', () => {
    const announcement = announcementOf({
      ...base,
      deploy: { deployments: { us: { web: 'd-US1' } }, status: 'RUNNING', failures: [] },
      error: lambdaError(
        'AccessDeniedException',
        'CheckDeployments: BatchGetDeployments on eu (eu-west-1) failed: not authorized; nothing was decided; us/web had succeeded when last looked at.',
      ),
      rollback: rolledBack('SUCCEEDED'),
    });

    expect(announcement.cause?.split('\n')).toEqual([
      'AccessDeniedException: CheckDeployments: BatchGetDeployments on eu (eu-west-1) failed: not authorized; nothing was decided; us/web had succeeded when last looked at.',
      'rollbacks succeeded:',
      '  eu/web: none: Failed',
      '  us/web: redeploy via d-US2: Succeeded',
    ]);
  });

  it('names the alarm that failed a bake, and the environments a wave-scoped rollback kept on the release', () => {
    const announcement = announcementOf({
      ...base,
      deploy: { deployments: {}, status: 'SUCCEEDED', failures: [] },
      bake: {
        wave: 1,
        status: 'FAILED',
        until: '2026-11-26T07:01:00.000Z',
        alarms: [
          { environment: 'eu', alarmName: 'eu-5xx', at: '2026-11-26T07:00:30.000Z', reason: 'set by hand' },
        ],
      },
      rollback: { ...rolledBack('SUCCEEDED'), kept: ['us'] },
    });

    expect(announcement.outcome).toBe('ROLLED_BACK');
    expect(announcement.summary).toBe(
      'Release 2026-11-26.3 rolled back in eu, au (us keep it): alarm in ALARM: eu/eu-5xx.',
    );
    expect(announcement.cause?.split('\n').slice(0, 2)).toEqual([
      'alarms went into ALARM:',
      '  eu: alarm eu-5xx in ALARM at 2026-11-26T07:00:30.000Z (set by hand)',
    ]);
  });

  it('fails a release whose bake saw an alarm even without a rollback', () => {
    expect(
      decideOutcome({
        ...base,
        bake: { wave: 0, status: 'FAILED', until: '2026-11-26T07:01:00.000Z', alarms: [] },
      }),
    ).toBe('FAILED');
  });

  it('shows the readable message of a caught Lambda error', () => {
    const announcement = announcementOf({
      environments: ['us', 'mars'],
      error: lambdaError(
        'ValidationError',
        'input.environments[1]: "mars" is not configured; configured: us, eu, au',
      ),
    });

    expect(announcement.cause).toBe(
      'ValidationError: input.environments[1]: "mars" is not configured; configured: us, eu, au',
    );
    expect(announcement.summary).toBe(
      'Release (no valid release name) failed in us, mars: ValidationError: input.environments[1]: "mars" is not configured; configured: us, eu, au.',
    );
  });
});

describe('the announcement of a rollback to an earlier release', () => {
  const rollback: AnnounceState = {
    release: 'r3',
    rollbackTo: 'r1',
    plan: { ...plan, release: 'r3', rollbackTo: 'r1', environments: ['us', 'eu'] },
    preDeploy: succeededPhase('pre-deploy'),
    migrate: succeededPhase('migrate'),
  };

  it.each<{ name: string; state: AnnounceState; summary: string }>([
    {
      name: 'it succeeded',
      state: rollback,
      summary:
        "Release r3 (rollback to release r1) succeeded: us, eu run release r1's task definitions again.",
    },
    {
      name: 'a deployment failed and was rolled back',
      state: {
        ...rollback,
        deploy: {
          deployments: { eu: { web: 'd-1' } },
          status: 'FAILED',
          failures: [
            { environment: 'eu', service: 'web', deploymentId: 'd-1', status: 'Failed', reason: 'unhealthy' },
          ],
        },
        rollback: {
          status: 'SUCCEEDED',
          rollbacks: [
            { environment: 'eu', service: 'web', deploymentId: 'd-1', action: 'adopt', status: 'Succeeded' },
          ],
        },
      },
      summary:
        'Release r3 (rollback to release r1) rolled back in us, eu: deployment failed: eu/web (Failed).',
    },
    {
      name: 'Plan refused it (no plan: the input names both releases)',
      state: {
        release: 'r3',
        rollbackTo: 'r1',
        environments: ['us'],
        error: { Error: 'ValidationError', Cause: 'input.rollbackTo: release "r1" never succeeded' },
      },
      summary:
        'Release r3 (rollback to release r1) failed in us: ValidationError: input.rollbackTo: release "r1" never succeeded.',
    },
  ])('names both releases when $name', ({ state, summary }) => {
    expect(announcementOf(state).summary).toBe(summary);
  });

  it('carries rollbackTo in the event detail', async () => {
    // Prepare
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    await announce({ state: rollback, executionArn: EXECUTION_ARN }, deps);

    // Assess
    const entry = events.commandCalls(PutEventsCommand)[0].args[0].input.Entries?.[0];
    expect(entry?.DetailType).toBe('Release Succeeded');
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({ release: 'r3', rollbackTo: 'r1' });
  });
});

describe('announce', () => {
  beforeEach(() => {
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  it('puts the outcome on the configured bus with a small detail', async () => {
    // Act
    const announcement = await announce(
      { state: { ...base, migrate: failedMigrate }, executionArn: EXECUTION_ARN },
      deps,
    );

    // Assess
    expect(announcement.outcome).toBe('FAILED');
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entry = events.commandCalls(PutEventsCommand)[0].args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      Source: 'stepdeploy',
      DetailType: 'Release Failed',
      EventBusName: 'releases',
      Resources: [EXECUTION_ARN],
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toEqual({
      release: '2026-11-26.3',
      outcome: 'FAILED',
      summary: announcement.summary,
      executionArn: EXECUTION_ARN,
      environments: ['us', 'eu', 'au'],
      failures: [{ phase: 'migrate', ...failedMigrate.failures[0] }],
      error: 'TaskFailedError',
    });
  });

  it('announces a success without error or cause', async () => {
    const announcement = await announce({ state: base, executionArn: EXECUTION_ARN }, deps);

    expect(announcement).toEqual({
      outcome: 'SUCCEEDED',
      detailType: 'Release Succeeded',
      summary: 'Release 2026-11-26.3 succeeded in us, eu, au.',
    });
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ DetailType: 'Release Succeeded' })],
    });
  });

  it('raises a TransientError saying what was not announced when PutEvents is throttled past the SDK retries', async () => {
    events.on(PutEventsCommand).rejects(throttled('PutEvents'));

    const announced = announce({ state: base, executionArn: EXECUTION_ARN }, deps);

    await expect(announced).rejects.toThrow(TransientError);
    await expect(announced).rejects.toThrow(
      /^Announce: PutEvents on bus releases \(us-east-1\) failed \(ThrottlingException.*; the outcome was not announced: Release 2026-11-26\.3 succeeded in us, eu, au\./,
    );
  });

  it('throws when EventBridge refuses the entry', async () => {
    // Prepare
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'not allowed' }],
    });

    // Act
    const announced = announce({ state: base, executionArn: EXECUTION_ARN }, deps);

    // Assess
    await expect(announced).rejects.toThrow(AnnouncementFailedError);
    await expect(announced).rejects.toThrow(
      'EventBridge refused the "Release Succeeded" event on bus "releases": NotAuthorizedForSourceException (not allowed)',
    );
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  // PutEvents reports an entry it could not put in FailedEntryCount instead of throwing; InternalFailure
  // and ThrottlingException are retryable
  // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
  it('puts an entry that failed with a retryable error again, backing off, until it is put', async () => {
    // Prepare
    const clock = fakeClock();
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }],
      })
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    const announcement = await announce({ state: base, executionArn: EXECUTION_ARN }, { ...deps, clock });

    // Assess
    expect(announcement.outcome).toBe('SUCCEEDED');
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect(clock.sleeps).toEqual([1000, 2000]);
  });

  it('fails, saying what was not announced, once a retryable error outlasts its attempts', async () => {
    // Prepare
    const clock = fakeClock();
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }] });

    // Act
    const announced = announce(
      { state: { ...base, migrate: failedMigrate }, executionArn: EXECUTION_ARN },
      { ...deps, clock },
    );

    // Assess
    await expect(announced).rejects.toThrow(AnnouncementFailedError);
    await expect(announced).rejects.toThrow(
      /refused the "Release Failed" event on bus "releases": InternalFailure \(oops\), 4 times\. The run's outcome was not announced: Release 2026-11-26\.3 failed in .*Redrive the execution/,
    );
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('sends to the Region of a bus given by ARN', async () => {
    // Prepare
    const bus = 'arn:aws:events:eu-west-1:123456789012:event-bus/releases';
    const regions: string[] = [];
    events.on(PutEventsCommand).callsFake(async (_input, getClient) => {
      regions.push(await getClient().config.region());
      return { FailedEntryCount: 0 };
    });

    // Act
    await announce(
      { state: base, executionArn: EXECUTION_ARN },
      { ...deps, config: testConfig({ eventBusName: bus }) },
    );

    // Assess
    expect(regions).toEqual(['eu-west-1']);
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: bus })],
    });
  });
});
