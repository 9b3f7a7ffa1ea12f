import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalAws, LocalAwsOptions } from '../../../local/local-aws.js';
import { awsCli, type CliCredentials, type CliResult, LOCAL_ADMIN } from '../../aws-cli.js';
import { clientConfig, eventually, startLocal } from '../local-aws-fixture.js';

const REGION = 'eu-west-1';

let local: LocalAws | undefined;
let cloudwatch: CloudWatchClient;

async function start(options: LocalAwsOptions = {}): Promise<void> {
  ({ local } = await startLocal(options, REGION));
  cloudwatch = new CloudWatchClient(clientConfig(local, REGION));
}

afterEach(async () => {
  cloudwatch?.destroy();
  await local?.stop();
  local = undefined;
});

/** A metric alarm on a load balancer's 5xx count, as the sample stack makes them. */
function alarm(name: string, fields: Partial<PutMetricAlarmCommandInput> = {}): PutMetricAlarmCommandInput {
  return {
    AlarmName: name,
    MetricName: 'HTTPCode_Target_5XX_Count',
    Namespace: 'AWS/ApplicationELB',
    Statistic: 'Sum',
    Dimensions: [{ Name: 'LoadBalancer', Value: 'app/eu/0123456789abcdef' }],
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    ...fields,
  };
}

async function stateOf(name: string): Promise<string | undefined> {
  const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
  return MetricAlarms?.[0]?.StateValue;
}

/**
 * The local AWS's time once `name` has been evaluated after its creation (its clock runs ahead of
 * this process's when scaled): history items from then on are the test's own.
 */
async function evaluatedSince(name: string): Promise<Date> {
  await eventually(async () => ((await stateOf(name)) !== 'INSUFFICIENT_DATA' ? true : undefined), 5_000);
  return new Date((local as LocalAws).clock.nowMs() + 1);
}

async function stateUpdates(name: string, since: Date): Promise<string[]> {
  const { AlarmHistoryItems } = await cloudwatch.send(
    new DescribeAlarmHistoryCommand({ AlarmName: name, HistoryItemType: 'StateUpdate', StartDate: since }),
  );
  return (AlarmHistoryItems ?? []).map((item) => item.HistorySummary ?? '');
}

describe('CloudWatch alarms through the AWS SDK (awsJson 1.0, query-compatible)', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html: "When
  // this operation creates an alarm, the alarm state is immediately set to INSUFFICIENT_DATA. The
  // alarm is then evaluated and its state is set appropriately."
  it('creates an alarm in INSUFFICIENT_DATA, then evaluates it: without metrics, as TreatMissingData says', async () => {
    await start();
    const since = new Date(Date.now() - 1000);

    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-missing', { TreatMissingData: 'missing' })));
    await cloudwatch.send(
      new PutMetricAlarmCommand(alarm('eu-breaching', { TreatMissingData: 'breaching' })),
    );

    const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'eu-' }));
    expect(MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([
      ['eu-5xx', 'OK'],
      ['eu-breaching', 'ALARM'],
      ['eu-missing', 'INSUFFICIENT_DATA'],
    ]);
    expect(MetricAlarms?.[0]).toMatchObject({
      AlarmArn: `arn:aws:cloudwatch:${REGION}:000000000000:alarm:eu-5xx`,
      Dimensions: [{ Name: 'LoadBalancer', Value: 'app/eu/0123456789abcdef' }],
      Threshold: 1,
      Period: 60,
    });
    expect(await stateUpdates('eu-5xx', since)).toEqual(['Alarm updated from INSUFFICIENT_DATA to OK']);
  });

  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html: "Metric
  // alarms returns to their actual state quickly, often within seconds. [...] it is typically only
  // visible in the alarm's History tab [...] or through DescribeAlarmHistory."
  it('SetAlarmState sets the state for a moment; the alarm returns to its actual state, and the history keeps both', async () => {
    await start({ timeScale: 100, alarmReturnMs: 5_000 });
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));
    const since = await evaluatedSince('eu-5xx');

    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'eu-5xx', StateValue: 'ALARM', StateReason: 'testing the bake' }),
    );
    expect(await stateOf('eu-5xx')).toBe('ALARM');
    await eventually(async () => ((await stateOf('eu-5xx')) === 'OK' ? true : undefined), 5_000);

    expect(await stateUpdates('eu-5xx', since)).toEqual([
      'Alarm updated from ALARM to OK',
      'Alarm updated from OK to ALARM',
    ]);
    const { AlarmHistoryItems } = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: 'eu-5xx',
        HistoryItemType: 'StateUpdate',
        StartDate: since,
        ScanBy: 'TimestampAscending',
      }),
    );
    expect(JSON.parse(AlarmHistoryItems?.[0]?.HistoryData ?? '{}')).toMatchObject({
      oldState: { stateValue: 'OK' },
      newState: { stateValue: 'ALARM', stateReason: 'testing the bake' },
    });
  });

  it('keeps the state SetAlarmState gave for the configured delay, scaled like every wait', async () => {
    await start({ timeScale: 1, alarmReturnMs: 60_000 });
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));

    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'eu-5xx', StateValue: 'ALARM', StateReason: 'held' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(await stateOf('eu-5xx')).toBe('ALARM');
  });

  it('answers SetAlarmState on an unknown alarm ResourceNotFound, and StateReasonData that is not JSON InvalidFormat', async () => {
    await start();
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));

    await expect(
      cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'x' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound', $metadata: { httpStatusCode: 404 } });
    await expect(
      cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: 'eu-5xx',
          StateValue: 'ALARM',
          StateReason: 'x',
          StateReasonData: '{not json',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidFormatFault' });
    expect(await stateOf('eu-5xx')).toBe('OK');
  });

  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html:
  // AlarmNamePrefix "If this parameter is specified, you cannot specify AlarmNames."
  it('DescribeAlarms filters by names, prefix and state, refuses names with a prefix, and pages with NextToken', async () => {
    await start();
    for (const name of ['a-1', 'a-2', 'a-3', 'b-1']) {
      await cloudwatch.send(new PutMetricAlarmCommand(alarm(name)));
    }
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('a-4', { TreatMissingData: 'breaching' })));

    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['a-1'], AlarmNamePrefix: 'a-' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    const inAlarm = await cloudwatch.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
    expect(inAlarm.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['a-4']);
    const named = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['b-1', 'a-2', 'gone'] }));
    expect(named.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['a-2', 'b-1']);

    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: 'a-', MaxRecords: 3, NextToken }),
      );
      pages.push((page.MetricAlarms ?? []).map((a) => a.AlarmName ?? ''));
      NextToken = page.NextToken;
    } while (NextToken);
    expect(pages).toEqual([['a-1', 'a-2', 'a-3'], ['a-4']]);
  });

  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html:
  // "CloudWatch retains the history of an alarm even if you delete the alarm."
  it('DescribeAlarmHistory filters by type and date range, pages, and outlives the alarm', async () => {
    // The alarm returns to its actual state only after an hour (36 s here): no return between the calls.
    await start({ timeScale: 100, alarmReturnMs: 3_600_000 });
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));
    const since = await evaluatedSince('eu-5xx');
    for (const state of ['ALARM', 'OK', 'ALARM'] as const) {
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: 'eu-5xx', StateValue: state, StateReason: state }),
      );
    }
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ['eu-5xx'] }));

    const first = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: 'eu-5xx',
        HistoryItemType: 'StateUpdate',
        StartDate: since,
        MaxRecords: 2,
      }),
    );
    const second = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: 'eu-5xx',
        HistoryItemType: 'StateUpdate',
        StartDate: since,
        MaxRecords: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(
      [...(first.AlarmHistoryItems ?? []), ...(second.AlarmHistoryItems ?? [])].map((i) => i.HistorySummary),
    ).toEqual([
      'Alarm updated from OK to ALARM',
      'Alarm updated from ALARM to OK',
      'Alarm updated from OK to ALARM',
    ]);
    expect(second.NextToken).toBeUndefined();
    const configuration = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'eu-5xx', HistoryItemType: 'ConfigurationUpdate' }),
    );
    expect(configuration.AlarmHistoryItems?.map((i) => i.HistorySummary)).toEqual([
      'Alarm "eu-5xx" deleted',
      'Alarm "eu-5xx" created',
    ]);
    const later = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: 'eu-5xx',
        StartDate: new Date((local as LocalAws).clock.nowMs() + 3_600_000),
      }),
    );
    expect(later.AlarmHistoryItems).toEqual([]);
  });

  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DeleteAlarms.html: "In the
  // event of an error, no alarms are deleted."
  it('DeleteAlarms deletes nothing when one name is unknown', async () => {
    await start();
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));

    await expect(
      cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ['eu-5xx', 'gone'] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound' });

    expect(await stateOf('eu-5xx')).toBe('OK');
  });
});

/** Debian's AWS CLI v2 (2.9.19) speaks CloudWatch's query protocol: as the administrator. */
async function aws(...args: string[]): Promise<CliResult> {
  return awsAs(LOCAL_ADMIN, ...args);
}

async function awsAs(credentials: CliCredentials, ...args: string[]): Promise<CliResult> {
  return awsCli(local?.endpoint ?? '', args, credentials, REGION);
}

describe('CloudWatch alarms through the AWS CLI (query protocol)', () => {
  it('creates an alarm, sets its state and reads it and its history back; errors carry the query error code', async () => {
    await start({ timeScale: 1, alarmReturnMs: 60_000 });
    const since = new Date(Date.now() - 1000).toISOString();

    const put = await aws(
      'cloudwatch',
      'put-metric-alarm',
      '--alarm-name',
      'eu-5xx',
      '--metric-name',
      'HTTPCode_Target_5XX_Count',
      '--namespace',
      'AWS/ApplicationELB',
      '--statistic',
      'Sum',
      '--period',
      '60',
      '--evaluation-periods',
      '1',
      '--threshold',
      '1.5',
      '--comparison-operator',
      'GreaterThanOrEqualToThreshold',
      '--treat-missing-data',
      'notBreaching',
      '--dimensions',
      'Name=LoadBalancer,Value=app/eu/0123',
    );
    expect(put).toEqual({ ok: true, json: {} });
    const set = await aws(
      'cloudwatch',
      'set-alarm-state',
      '--alarm-name',
      'eu-5xx',
      '--state-value',
      'ALARM',
      '--state-reason',
      'set by hand',
    );
    expect(set).toEqual({ ok: true, json: {} });

    const described = await aws('cloudwatch', 'describe-alarms', '--alarm-names', 'eu-5xx');
    expect(described).toMatchObject({
      ok: true,
      json: {
        MetricAlarms: [
          {
            AlarmName: 'eu-5xx',
            StateValue: 'ALARM',
            StateReason: 'set by hand',
            Threshold: 1.5,
            Period: 60,
            ActionsEnabled: true,
            Dimensions: [{ Name: 'LoadBalancer', Value: 'app/eu/0123' }],
          },
        ],
        CompositeAlarms: [],
      },
    });
    const history = await aws(
      'cloudwatch',
      'describe-alarm-history',
      '--alarm-name',
      'eu-5xx',
      '--history-item-type',
      'StateUpdate',
      '--start-date',
      since,
    );
    expect(history).toMatchObject({
      ok: true,
      json: {
        AlarmHistoryItems: [
          { HistorySummary: 'Alarm updated from OK to ALARM', HistoryItemType: 'StateUpdate' },
          { HistorySummary: 'Alarm updated from INSUFFICIENT_DATA to OK' },
        ],
      },
    });

    const unknown = await aws(
      'cloudwatch',
      'set-alarm-state',
      '--alarm-name',
      'gone',
      '--state-value',
      'ALARM',
      '--state-reason',
      'x',
    );
    expect(unknown).toMatchObject({ ok: false, stderr: expect.stringContaining('(ResourceNotFound)') });
    const combined = await aws(
      'cloudwatch',
      'describe-alarms',
      '--alarm-names',
      'a',
      '--alarm-name-prefix',
      'a',
    );
    expect(combined).toMatchObject({
      ok: false,
      stderr: expect.stringContaining('(InvalidParameterCombination)'),
    });
  });
});

describe('CloudWatch alarms under IAM', () => {
  it('authorizes DescribeAlarms on each named alarm, over either protocol', async () => {
    await start();
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-5xx')));
    await cloudwatch.send(new PutMetricAlarmCommand(alarm('eu-other')));
    const account = '000000000000';
    const active = local as LocalAws;
    active.iam.putRole({
      name: 'watcher',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' },
        ],
      },
    });
    active.iam.putRolePolicy('watcher', 'watch', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'cloudwatch:DescribeAlarms',
          Resource: `arn:aws:cloudwatch:${REGION}:${account}:alarm:eu-5xx`,
        },
      ],
    });
    const sts = new STSClient(clientConfig(active, REGION));
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/watcher`, RoleSessionName: 'test' }),
    );
    sts.destroy();
    const credentials = {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    };
    const watcher = new CloudWatchClient({ ...clientConfig(active, REGION), credentials });
    try {
      const allowed = await watcher.send(new DescribeAlarmsCommand({ AlarmNames: ['eu-5xx'] }));
      expect(allowed.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['eu-5xx']);
      await expect(
        watcher.send(new DescribeAlarmsCommand({ AlarmNames: ['eu-5xx', 'eu-other'] })),
      ).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          `cloudwatch:DescribeAlarms on resource: arn:aws:cloudwatch:${REGION}:${account}:alarm:eu-other`,
        ),
      });
    } finally {
      watcher.destroy();
    }
    const denied = await awsAs(
      credentials,
      'cloudwatch',
      'describe-alarms',
      '--alarm-names',
      'eu-5xx',
      'eu-other',
    );
    expect(denied).toMatchObject({ ok: false, stderr: expect.stringContaining('(AccessDeniedException)') });
  });
});
