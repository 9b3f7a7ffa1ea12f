import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { type BakeLook, checkBake, judgeBake } from '../../../lambdas/check-bake/core.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import { startWatch } from '../../../lambdas/shared/lambda-context.js';
import type { AlarmBreach, BakeState, DeployState } from '../../../lambdas/shared/types.js';
import { environment, fakeClock, testConfig } from '../shared/fixtures.js';

const cloudwatch = mockClient(CloudWatchClient);
const MOVED_AT = '2026-11-26T07:00:00.000Z';

const breach: AlarmBreach = { environment: 'us', alarmName: 'us-5xx', at: MOVED_AT, reason: 'x' };

describe('judgeBake', () => {
  it.each<[string, BakeLook, BakeState['status']]>([
    ['baking, no alarm', { alarms: [], bakedMs: 10_000, bakeMs: 60_000 }, 'RUNNING'],
    ['baked, no alarm', { alarms: [], bakedMs: 60_000, bakeMs: 60_000 }, 'SUCCEEDED'],
    ['no bake time', { alarms: [], bakedMs: 0, bakeMs: 0 }, 'SUCCEEDED'],
    ['an alarm while baking', { alarms: [breach], bakedMs: 10_000, bakeMs: 60_000 }, 'FAILED'],
    ['an alarm once baked', { alarms: [breach], bakedMs: 90_000, bakeMs: 60_000 }, 'FAILED'],
  ])('%s → %s', (_name, look, status) => {
    expect(judgeBake(look)).toBe(status);
  });
});

describe('checkBake', () => {
  const config = testConfig({
    environments: [environment('us', { alarms: ['us-5xx'] }), environment('eu'), environment('au')],
    bakeSeconds: 60,
    pollSeconds: 5,
  });

  function deploy(index: number, of: number, environments: string[]): DeployState {
    return {
      deployments: {},
      status: 'SUCCEEDED',
      failures: [],
      wave: {
        index,
        of,
        environments,
        cutover: 'independent',
        startedAt: '2026-11-26T06:58:00.000Z',
        trafficMovedAt: MOVED_AT,
      },
    };
  }

  beforeEach(() => {
    cloudwatch.reset();
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'us-5xx', StateValue: 'OK' }] });
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ AlarmHistoryItems: [] });
  });

  it('bakes from the time traffic moved, watching the alarms every poll, then names the next wave', async () => {
    // Prepare
    const clock = fakeClock(Date.parse(MOVED_AT) + 42_000);
    const deps = { clients: createClients({ cloudwatch: CloudWatchClient }), clock, config };

    // Act
    const state = await checkBake(deps, deploy(0, 2, ['us']), startWatch({ watchSeconds: 600 }, clock));

    // Assess
    expect(state).toEqual({
      wave: 0,
      status: 'SUCCEEDED',
      until: '2026-11-26T07:01:00.000Z',
      alarms: [],
      nextWave: 1,
    });
    // The last sleep ends the bake, not a whole poll later.
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 3000]);
    expect(cloudwatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 5);
  });

  it('fails the wave on an alarm that went into ALARM since the wave began', async () => {
    // Prepare
    cloudwatch
      .on(DescribeAlarmHistoryCommand)
      .resolvesOnce({ AlarmHistoryItems: [] })
      .resolves({
        AlarmHistoryItems: [
          {
            Timestamp: new Date('2026-11-26T07:00:20.000Z'),
            HistoryData: '{"newState":{"stateValue":"ALARM","stateReason":"5xx"}}',
          },
        ],
      });
    const clock = fakeClock(Date.parse(MOVED_AT) + 10_000);
    const deps = { clients: createClients({ cloudwatch: CloudWatchClient }), clock, config };

    // Act
    const state = await checkBake(deps, deploy(1, 2, ['us', 'eu']), startWatch({ watchSeconds: 600 }, clock));

    // Assess
    expect(state).toEqual({
      wave: 1,
      status: 'FAILED',
      until: '2026-11-26T07:01:00.000Z',
      alarms: [{ environment: 'us', alarmName: 'us-5xx', at: '2026-11-26T07:00:20.000Z', reason: '5xx' }],
    });
    expect(clock.sleeps).toEqual([5000]);
  });

  it('hands the bake back RUNNING once its watch is spent, and names no next wave after the last', async () => {
    // Prepare
    const clock = fakeClock(Date.parse(MOVED_AT));
    const deps = { clients: createClients({ cloudwatch: CloudWatchClient }), clock, config };

    // Act
    const running = await checkBake(
      deps,
      deploy(1, 2, ['eu', 'au']),
      startWatch({ watchSeconds: 20 }, clock),
    );
    const done = await checkBake(deps, deploy(1, 2, ['eu', 'au']), startWatch({ watchSeconds: 600 }, clock));

    // Assess
    expect(running.status).toBe('RUNNING');
    expect(done).toEqual({ wave: 1, status: 'SUCCEEDED', until: '2026-11-26T07:01:00.000Z', alarms: [] });
    // eu and au have no alarms: nothing to read.
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });
});
