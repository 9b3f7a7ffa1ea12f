import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import { offsetPage } from '../page-token.js';
import { ACCOUNT_ID } from '../server.js';

/** The states of an alarm. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

const STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/** What PutMetricAlarm takes, as far as the local AWS keeps it. */
export interface PutMetricAlarmInput {
  AlarmName?: string;
  AlarmDescription?: string;
  ActionsEnabled?: boolean;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: Array<{ Name?: string; Value?: string }>;
  Period?: number;
  Unit?: string;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
}

/** A metric alarm as DescribeAlarms answers it. */
export interface MetricAlarm extends Omit<PutMetricAlarmInput, 'AlarmName'> {
  AlarmName: string;
  AlarmArn: string;
  AlarmConfigurationUpdatedTimestamp: Date;
  StateValue: AlarmState;
  StateReason: string;
  StateReasonData?: string;
  StateUpdatedTimestamp: Date;
  StateTransitionedTimestamp: Date;
}

/** One item of an alarm's history, as DescribeAlarmHistory answers it. */
export interface AlarmHistoryItem {
  AlarmName: string;
  AlarmType: 'MetricAlarm';
  Timestamp: Date;
  HistoryItemType: 'ConfigurationUpdate' | 'StateUpdate' | 'Action';
  HistorySummary: string;
  HistoryData: string;
}

interface AlarmRecord {
  region: string;
  alarm: MetricAlarm;
  /** Puts the alarm back to its actual state after a SetAlarmState; absent when none is pending. */
  cancelReturn?: () => void;
}

/** The most alarms DescribeAlarms and DeleteAlarms take by name, and the largest page. */
const MAX_NAMES = 100;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;

/**
 * How long (AWS time, scaled like every wait) a metric alarm set by SetAlarmState keeps that
 * state before it returns to its actual state: AWS says "quickly, often within seconds"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html).
 */
export const DEFAULT_ALARM_RETURN_MS = 5_000;

/**
 * CloudWatch metric alarms per Region. The local AWS has no metrics: an alarm's actual state
 * is what its missing data makes of it (`TreatMissingData`: `notBreaching` OK, `breaching`
 * ALARM, `ignore` keeps the state, `missing` or none INSUFFICIENT_DATA), reached once the
 * alarm is created. SetAlarmState sets another state for a while, then the alarm returns to
 * its actual state; each change is a `StateUpdate` in its history, which outlives the alarm.
 */
export class AlarmsModel {
  private readonly alarms = new Map<string, AlarmRecord>();
  private readonly history: Array<{ region: string; item: AlarmHistoryItem }> = [];

  constructor(
    private readonly clock: LocalClock,
    private readonly returnMs = DEFAULT_ALARM_RETURN_MS,
  ) {}

  /** PutMetricAlarm: creates the alarm in INSUFFICIENT_DATA and evaluates it, or overwrites its configuration keeping its state. */
  putMetricAlarm(region: string, input: PutMetricAlarmInput): void {
    const name = alarmName(input.AlarmName);
    const key = `${region}/${name}`;
    const now = new Date(this.clock.nowMs());
    const existing = this.alarms.get(key);
    const { AlarmName: _name, ...configuration } = input;
    if (existing) {
      existing.alarm = {
        ...existing.alarm,
        ...configuration,
        AlarmConfigurationUpdatedTimestamp: now,
      };
      this.record(region, name, 'ConfigurationUpdate', `Alarm "${name}" updated`, { type: 'Update' });
      return;
    }
    const alarm: MetricAlarm = {
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: [],
      InsufficientDataActions: [],
      Dimensions: [],
      ...configuration,
      AlarmName: name,
      AlarmArn: `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`,
      AlarmConfigurationUpdatedTimestamp: now,
      StateValue: 'INSUFFICIENT_DATA',
      StateReason: 'Unchecked: Initial alarm creation',
      StateUpdatedTimestamp: now,
      StateTransitionedTimestamp: now,
    };
    this.alarms.set(key, { region, alarm });
    this.record(region, name, 'ConfigurationUpdate', `Alarm "${name}" created`, { type: 'Create' });
    this.evaluate(this.alarms.get(key) as AlarmRecord);
  }

  /** DeleteAlarms: every name must exist, or nothing is deleted. */
  deleteAlarms(region: string, names: string[] | undefined): void {
    const list = names ?? [];
    if (list.length > MAX_NAMES) {
      throw new AwsError(
        'InvalidParameterValueException',
        `AlarmNames holds ${list.length} names; DeleteAlarms takes at most ${MAX_NAMES}.`,
      );
    }
    const missing = list.filter((name) => !this.alarms.has(`${region}/${name}`));
    if (missing.length > 0) {
      throw new AwsError('ResourceNotFound', `Alarms not found: ${missing.join(', ')}.`, 404);
    }
    for (const name of list) {
      const record = this.alarms.get(`${region}/${name}`);
      record?.cancelReturn?.();
      this.alarms.delete(`${region}/${name}`);
      this.record(region, name, 'ConfigurationUpdate', `Alarm "${name}" deleted`, { type: 'Delete' });
    }
  }

  /**
   * SetAlarmState: the alarm takes `StateValue` now (a `StateUpdate` in its history when it
   * changes), then returns to its actual state after the return delay.
   */
  setAlarmState(
    region: string,
    input: { AlarmName?: string; StateValue?: string; StateReason?: string; StateReasonData?: string },
  ): void {
    const name = alarmName(input.AlarmName);
    const state = input.StateValue;
    if (!STATES.includes(state as AlarmState)) {
      throw new AwsError(
        'InvalidParameterValueException',
        `StateValue ${String(state)} is invalid; use one of ${STATES.join(', ')}.`,
      );
    }
    if (input.StateReason === undefined) {
      throw new AwsError('MissingRequiredParameterException', 'StateReason is required; pass one.');
    }
    if (input.StateReasonData !== undefined && input.StateReasonData !== '') {
      try {
        JSON.parse(input.StateReasonData);
      } catch {
        throw new AwsError('InvalidFormatFault', 'StateReasonData is not valid JSON; pass a JSON document.');
      }
    }
    const record = this.alarms.get(`${region}/${name}`);
    if (!record) throw new AwsError('ResourceNotFound', `Alarm ${name} does not exist.`, 404);
    this.transition(record, state as AlarmState, input.StateReason, input.StateReasonData);
    record.cancelReturn?.();
    record.cancelReturn = this.clock.after(this.returnMs, () => {
      record.cancelReturn = undefined;
      if (this.alarms.get(`${region}/${name}`) === record) this.evaluate(record);
    });
  }

  /**
   * DescribeAlarms: metric alarms by names or a name prefix (not both), and state, sorted by
   * name, in pages of `MaxRecords` (default 50, at most 100). Composite alarms, which the local
   * AWS does not model, are never returned.
   */
  describeAlarms(
    region: string,
    input: {
      AlarmNames?: string[];
      AlarmNamePrefix?: string;
      AlarmTypes?: string[];
      StateValue?: string;
      MaxRecords?: number;
      NextToken?: string;
    },
  ): { MetricAlarms: MetricAlarm[]; CompositeAlarms: never[]; NextToken?: string } {
    const names = input.AlarmNames ?? [];
    if (names.length > 0 && input.AlarmNamePrefix !== undefined) {
      throw new AwsError(
        'InvalidParameterCombinationException',
        'AlarmNamePrefix cannot be specified with AlarmNames; pass one of them.',
      );
    }
    if (names.length > MAX_NAMES) {
      throw new AwsError(
        'InvalidParameterValueException',
        `AlarmNames holds ${names.length} names; DescribeAlarms takes at most ${MAX_NAMES}.`,
      );
    }
    if (input.StateValue !== undefined && !STATES.includes(input.StateValue as AlarmState)) {
      throw new AwsError(
        'InvalidParameterValueException',
        `StateValue ${input.StateValue} is invalid; use one of ${STATES.join(', ')}.`,
      );
    }
    const size = pageSize(input.MaxRecords);
    const wantsMetric = (input.AlarmTypes ?? []).length === 0 || input.AlarmTypes?.includes('MetricAlarm');
    const matching = [...this.alarms.values()]
      .filter((record) => record.region === region && wantsMetric)
      .map((record) => record.alarm)
      .filter(
        (alarm) =>
          (names.length === 0 || names.includes(alarm.AlarmName)) &&
          (input.AlarmNamePrefix === undefined || alarm.AlarmName.startsWith(input.AlarmNamePrefix)) &&
          (input.StateValue === undefined || alarm.StateValue === input.StateValue),
      )
      .sort((a, b) => (a.AlarmName < b.AlarmName ? -1 : a.AlarmName > b.AlarmName ? 1 : 0));
    const page = offsetPage(matching, size, input.NextToken, 'InvalidNextToken');
    return {
      MetricAlarms: page.items.map((alarm) => structuredClone(alarm)),
      CompositeAlarms: [],
      NextToken: page.nextToken,
    };
  }

  /**
   * DescribeAlarmHistory: the history of one alarm (or of every alarm), deleted ones included,
   * by item type and time range (StartDate and EndDate inclusive), newest first unless
   * `ScanBy` is TimestampAscending, in pages of `MaxRecords` (default 50, at most 100).
   */
  describeAlarmHistory(
    region: string,
    input: {
      AlarmName?: string;
      AlarmTypes?: string[];
      HistoryItemType?: string;
      StartDate?: Date;
      EndDate?: Date;
      MaxRecords?: number;
      NextToken?: string;
      ScanBy?: string;
    },
  ): { AlarmHistoryItems: AlarmHistoryItem[]; NextToken?: string } {
    if (input.ScanBy !== undefined && !['TimestampDescending', 'TimestampAscending'].includes(input.ScanBy)) {
      throw new AwsError(
        'InvalidParameterValueException',
        `ScanBy ${input.ScanBy} is invalid; use TimestampDescending or TimestampAscending.`,
      );
    }
    const size = pageSize(input.MaxRecords);
    const wantsMetric = (input.AlarmTypes ?? []).length === 0 || input.AlarmTypes?.includes('MetricAlarm');
    const startMs = input.StartDate?.getTime();
    const endMs = input.EndDate?.getTime();
    const matching = this.history
      .filter(({ region: itemRegion, item }) => {
        const at = item.Timestamp.getTime();
        return (
          itemRegion === region &&
          wantsMetric &&
          (input.AlarmName === undefined || item.AlarmName === input.AlarmName) &&
          (input.HistoryItemType === undefined || item.HistoryItemType === input.HistoryItemType) &&
          (startMs === undefined || at >= startMs) &&
          (endMs === undefined || at <= endMs)
        );
      })
      .map(({ item }) => item);
    if (input.ScanBy !== 'TimestampAscending') matching.reverse();
    const page = offsetPage(matching, size, input.NextToken, 'InvalidNextToken');
    return { AlarmHistoryItems: page.items.map((item) => ({ ...item })), NextToken: page.nextToken };
  }

  /** Cancels the pending returns to the actual state (the local AWS is shutting down). */
  shutdown(): void {
    for (const record of this.alarms.values()) record.cancelReturn?.();
  }

  /** Puts the alarm in its actual state: what missing data makes of it, the local AWS having no metrics. */
  private evaluate(record: AlarmRecord): void {
    const treat = record.alarm.TreatMissingData ?? 'missing';
    const actual: AlarmState | undefined =
      treat === 'notBreaching'
        ? 'OK'
        : treat === 'breaching'
          ? 'ALARM'
          : treat === 'ignore'
            ? undefined
            : 'INSUFFICIENT_DATA';
    if (actual === undefined) return;
    const reason =
      actual === 'INSUFFICIENT_DATA'
        ? 'Insufficient Data: no datapoints were received for the evaluation periods.'
        : `Threshold Crossed: no datapoints were received, treated as ${actual === 'OK' ? 'not breaching' : 'breaching'}.`;
    this.transition(record, actual, reason, undefined);
  }

  /** Sets the alarm's state; a change of state is a `StateUpdate` history item. */
  private transition(
    record: AlarmRecord,
    state: AlarmState,
    reason: string,
    reasonData: string | undefined,
  ): void {
    const { alarm } = record;
    const now = new Date(this.clock.nowMs());
    const previous = { stateValue: alarm.StateValue, stateReason: alarm.StateReason };
    alarm.StateReason = reason;
    alarm.StateReasonData = reasonData;
    alarm.StateUpdatedTimestamp = now;
    if (previous.stateValue === state) return;
    alarm.StateValue = state;
    alarm.StateTransitionedTimestamp = now;
    this.record(
      record.region,
      alarm.AlarmName,
      'StateUpdate',
      `Alarm updated from ${previous.stateValue} to ${state}`,
      {
        version: '1.0',
        oldState: previous,
        newState: { stateValue: state, stateReason: reason },
      },
    );
  }

  private record(
    region: string,
    name: string,
    type: AlarmHistoryItem['HistoryItemType'],
    summary: string,
    data: unknown,
  ): void {
    this.history.push({
      region,
      item: {
        AlarmName: name,
        AlarmType: 'MetricAlarm',
        Timestamp: new Date(this.clock.nowMs()),
        HistoryItemType: type,
        HistorySummary: summary,
        HistoryData: JSON.stringify(data),
      },
    });
  }
}

function alarmName(name: string | undefined): string {
  if (!name) throw new AwsError('MissingRequiredParameterException', 'AlarmName is required; pass one.');
  if (name.length > 255) {
    throw new AwsError(
      'InvalidParameterValueException',
      `AlarmName is ${name.length} characters; use 255 at most.`,
    );
  }
  return name;
}

function pageSize(maxRecords: number | undefined): number {
  if (maxRecords === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > MAX_PAGE) {
    throw new AwsError(
      'InvalidParameterValueException',
      `MaxRecords ${maxRecords} is invalid; pass 1 to ${MAX_PAGE}.`,
    );
  }
  return maxRecords;
}
