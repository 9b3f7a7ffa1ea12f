import { describe, expect, it } from 'vitest';
import {
  enteredState,
  executionHistory,
  releaseDeployment,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
  waitForState,
} from '../../examples/demo/sample-aws.js';
import { sampleAlarmName } from '../../infra/sample-stack.js';
import {
  announcementsOf,
  expectEveryGroupOnPrevious,
  finalState,
  plannedRevision,
  planOf,
  primaryRevision,
  setAlarmState,
  stateAfter,
  useSampleAws,
} from './harness.js';

describe('waves', () => {
  const aws = useSampleAws();

  it('the canary wave deploys and bakes, the second wave fails after its cut-over: both waves are rolled back', async () => {
    // After the cut-over: au's traffic moved, as the canary's did.
    aws().local.faults.add({
      kind: 'deployment-failure',
      environment: 'au',
      service: 'worker',
      lifecycleEvent: 'AfterAllowTraffic',
    });
    const release = releaseNameAt(new Date(), 'e2e-waves');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    expect(`${end.error} ${end.cause}`).toMatch(/au\/worker/);
    const events = await executionHistory(aws().clients.sfn, executionArn);
    // The canary baked before the second wave started.
    const baked = stateAfter(events, 'Bake');
    expect(baked?.bake).toMatchObject({ wave: 0, status: 'SUCCEEDED', alarms: [], nextWave: 1 });
    const state = await finalState(aws(), executionArn);
    expect(state.deploy?.wave).toMatchObject({ index: 1, environments: ['eu', 'au'] });
    expect(state.deploy?.wave?.cutOverAt).toBeDefined();
    // rollbackScope 'all' (the default): the canary's deployments are rolled back as well.
    expect(state.rollback?.rollbacks.map((r) => `${r.environment}/${r.service}`).sort()).toEqual([
      'au/web',
      'au/worker',
      'eu/web',
      'eu/worker',
      'us/web',
      'us/worker',
    ]);
    expect(state.rollback?.kept ?? []).toEqual([]);
    expect(state.rollback?.status).toBe('SUCCEEDED');
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });
});

// Slow enough (the bake lasts 6 s) for an operator's command to land in the canary's bake.
describe('an alarm during a bake', () => {
  const aws = useSampleAws({ timeScale: 20 });

  it('an alarm set to ALARM during the canary’s bake fails the wave: the canary is rolled back, the second wave never starts', async () => {
    const release = releaseNameAt(new Date(), 'e2e-alarm');
    const alarmName = sampleAlarmName('us');

    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'Bake');
    // As an operator would, or CloudWatch on the canary's 5xx answers
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html).
    await setAlarmState(aws(), alarmName, 'ALARM', 'us answers 5xx');
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    const state = await finalState(aws(), executionArn);
    expect(state.bake).toMatchObject({ wave: 0, status: 'FAILED' });
    expect(state.bake?.alarms.map((breach) => [breach.environment, breach.alarmName])).toEqual([
      ['us', alarmName],
    ]);
    expect(state.bake?.nextWave).toBeUndefined();
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.rollback?.rollbacks.map((r) => `${r.environment}/${r.service}`).sort()).toEqual([
      'us/web',
      'us/worker',
    ]);
    expect(state.rollback?.status).toBe('SUCCEEDED');
    const events = await executionHistory(aws().clients.sfn, executionArn);
    expect(events.filter((event) => event.stateEnteredEventDetails?.name === 'Deploy')).toHaveLength(1);
    expect(enteredState(events, 'PostDeploySteps')).toBe(false);
    const plan = await planOf(aws(), executionArn);
    for (const environment of ['eu', 'au']) {
      for (const service of ['web', 'worker']) {
        expect(
          await releaseDeployment(aws().clients.codedeploy, release, environment, service),
          `${environment}/${service}`,
        ).toBe(undefined);
        expect(await primaryRevision(aws(), environment, service)).toBe(
          plannedRevision(plan, environment, service, 'previous'),
        );
      }
    }
    for (const service of ['web', 'worker']) {
      await expect
        .poll(() => primaryRevision(aws(), 'us', service), { timeout: 60_000 })
        .toBe(plannedRevision(plan, 'us', service, 'previous'));
    }
    const [announcement] = await announcementsOf(aws(), release);
    expect(announcement?.['detail-type']).toBe('Release Rolled Back');
    expect(JSON.stringify(announcement?.detail)).toContain(alarmName);
  }, 120_000);
});
