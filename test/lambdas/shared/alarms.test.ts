import {
  CloudWatchClient,
  DescribeAlarmHistoryCommand,
  type DescribeAlarmHistoryCommandInput,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { alarmBreaches, newStateOf, watchedAlarms } from '../../../lambdas/shared/alarms.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import { environment, testConfig } from './fixtures.js';

const cloudwatch = mockClient(CloudWatchClient);
const clients = createClients({ cloudwatch: CloudWatchClient });
const SINCE = new Date('2026-11-26T07:00:00.000Z');

describe('newStateOf', () => {
  it.each([
    ['HistoryData', { HistoryData: '{"newState":{"stateValue":"ALARM"}}' }, 'ALARM'],
    [
      'HistoryData back to OK',
      { HistoryData: '{"newState":{"stateValue":"OK"}}', HistorySummary: 'x' },
      'OK',
    ],
    [
      'the summary when HistoryData is not JSON',
      { HistoryData: 'n/a', HistorySummary: 'Alarm updated from OK to ALARM' },
      'ALARM',
    ],
    ['nothing to go by', { HistorySummary: 'Alarm "x" created' }, undefined],
  ])('reads %s', (_what, item, state) => {
    expect(newStateOf(item)).toBe(state);
  });
});

describe('watchedAlarms', () => {
  it('lists the alarms of the environments that have any, in their Region', () => {
    const config = testConfig({
      environments: [
        environment('us', { alarms: ['us-5xx'] }),
        environment('eu'),
        environment('au', { alarms: ['au-5xx', 'au-p99'] }),
      ],
    });

    expect(watchedAlarms(config, ['eu', 'au', 'us'])).toEqual([
      { environment: 'au', region: 'ap-southeast-2', alarmNames: ['au-5xx', 'au-p99'] },
      { environment: 'us', region: 'us-east-1', alarmNames: ['us-5xx'] },
    ]);
  });
});

describe('alarmBreaches', () => {
  beforeEach(() => {
    cloudwatch.reset();
  });

  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html: a metric
  // alarm set to ALARM returns to its actual state "often within seconds", so the history is read too.
  it('reports an alarm that is OK now but went into ALARM since, and one in ALARM now; not one only OK', async () => {
    // Prepare
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'a-flapped', StateValue: 'OK' },
        {
          AlarmName: 'a-now',
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed',
          StateUpdatedTimestamp: new Date('2026-11-26T07:05:00Z'),
        },
        { AlarmName: 'a-quiet', StateValue: 'OK' },
      ],
    });
    cloudwatch.on(DescribeAlarmHistoryCommand).callsFake((input: DescribeAlarmHistoryCommandInput) => ({
      AlarmHistoryItems:
        input.AlarmName === 'a-flapped'
          ? [
              {
                Timestamp: new Date('2026-11-26T07:02:00Z'),
                HistoryData: '{"newState":{"stateValue":"INSUFFICIENT_DATA"}}',
              },
              {
                Timestamp: new Date('2026-11-26T07:03:00Z'),
                HistoryData: '{"newState":{"stateValue":"ALARM","stateReason":"testing"}}',
              },
              {
                Timestamp: new Date('2026-11-26T07:03:05Z'),
                HistoryData: '{"newState":{"stateValue":"OK"}}',
              },
            ]
          : [],
    }));

    // Act
    const breaches = await alarmBreaches(
      clients.cloudwatch,
      [{ environment: 'us', region: 'us-east-1', alarmNames: ['a-flapped', 'a-now', 'a-quiet'] }],
      SINCE,
    );

    // Assess
    expect(breaches).toEqual([
      { environment: 'us', alarmName: 'a-flapped', at: '2026-11-26T07:03:00.000Z', reason: 'testing' },
      { environment: 'us', alarmName: 'a-now', at: '2026-11-26T07:05:00.000Z', reason: 'Threshold Crossed' },
    ]);
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmHistoryCommand, {
      AlarmName: 'a-flapped',
      HistoryItemType: 'StateUpdate',
      StartDate: SINCE,
      ScanBy: 'TimestampAscending',
    });
    expect(cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ['a-flapped', 'a-now', 'a-quiet'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('reports an alarm CloudWatch does not know: it cannot be watched', async () => {
    // Prepare
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    cloudwatch.on(DescribeAlarmHistoryCommand).resolves({ AlarmHistoryItems: [] });

    // Act
    const breaches = await alarmBreaches(
      clients.cloudwatch,
      [{ environment: 'eu', region: 'eu-west-1', alarmNames: ['gone'] }],
      SINCE,
    );

    // Assess
    expect(breaches).toEqual([
      expect.objectContaining({
        alarmName: 'gone',
        reason: expect.stringContaining('does not know alarm gone in eu-west-1'),
      }),
    ]);
  });

  it('reads every page: alarms by 100 names, the history until it finds one into ALARM', async () => {
    // Prepare
    const names = Array.from({ length: 101 }, (_, i) => `a-${String(i).padStart(3, '0')}`);
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input: DescribeAlarmsCommandInput) => ({
      CompositeAlarms: input.NextToken ? [] : [{ AlarmName: input.AlarmNames?.[0], StateValue: 'OK' }],
      MetricAlarms: (input.AlarmNames ?? [])
        .slice(input.NextToken ? 1 : 0, input.NextToken ? undefined : 1)
        .map((AlarmName) => ({ AlarmName, StateValue: 'OK' })),
      NextToken: input.NextToken ? undefined : 'more',
    }));
    cloudwatch
      .on(DescribeAlarmHistoryCommand)
      .resolves({ AlarmHistoryItems: [] })
      .on(DescribeAlarmHistoryCommand, { AlarmName: 'a-100' })
      .resolvesOnce({ AlarmHistoryItems: [], NextToken: 'page-2' })
      .resolves({
        AlarmHistoryItems: [
          { Timestamp: new Date('2026-11-26T07:09:00Z'), HistorySummary: 'Alarm updated from OK to ALARM' },
        ],
      });

    // Act
    const breaches = await alarmBreaches(
      clients.cloudwatch,
      [{ environment: 'au', region: 'ap-southeast-2', alarmNames: names }],
      SINCE,
    );

    // Assess
    expect(breaches).toEqual([
      {
        environment: 'au',
        alarmName: 'a-100',
        at: '2026-11-26T07:09:00.000Z',
        reason: 'Alarm updated from OK to ALARM',
      },
    ]);
    expect(
      cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input.AlarmNames?.length),
    ).toEqual([100, 100, 1, 1]);
  });
});
