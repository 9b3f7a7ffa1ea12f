import {
  type CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import type { DeployConfig } from './config.js';
import { chunk, environmentOf } from './ecs-tasks.js';
import type { AlarmBreach } from './types.js';

/** The alarms of one environment, in its Region. */
export interface WatchedAlarms {
  environment: string;
  region: string;
  alarmNames: string[];
}

/** DescribeAlarms takes at most 100 alarm names and answers at most 100 alarms a page. */
const DESCRIBE_ALARMS_MAX = 100;
/** The largest page of DescribeAlarmHistory. */
const HISTORY_PAGE = 100;

/** The configured alarms of `environments` (those that have any). */
export function watchedAlarms(config: DeployConfig, environments: readonly string[]): WatchedAlarms[] {
  return environments.flatMap((name) => {
    const environment = environmentOf(config, name, 'wave.environments');
    const alarmNames = environment.alarms ?? [];
    return alarmNames.length > 0 ? [{ environment: name, region: environment.region, alarmNames }] : [];
  });
}

/** What a StateUpdate history item says the alarm went into, from its HistoryData (JSON) or its summary. */
export function newStateOf(item: { HistoryData?: string; HistorySummary?: string }): string | undefined {
  try {
    const data = JSON.parse(item.HistoryData ?? '') as { newState?: { stateValue?: unknown } };
    if (typeof data.newState?.stateValue === 'string') return data.newState.stateValue;
  } catch {
    // Not JSON: the summary ("Alarm updated from OK to ALARM") still says it.
  }
  return / to ([A-Z_]+)$/.exec(item.HistorySummary ?? '')?.[1];
}

/**
 * The alarms among `watched` that are in ALARM now, or went into ALARM at any time since
 * `since`, or that CloudWatch does not know (they cannot be watched): one breach per alarm,
 * the earliest seen. A metric alarm set to ALARM by SetAlarmState returns to its actual state
 * "often within seconds" and is then "typically only visible [...] through DescribeAlarmHistory"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html), so
 * the current state (DescribeAlarms) and the StateUpdate history since `since`
 * (DescribeAlarmHistory) are both read.
 */
export async function alarmBreaches(
  cloudwatchOf: (region: string) => CloudWatchClient,
  watched: readonly WatchedAlarms[],
  since: Date,
): Promise<AlarmBreach[]> {
  const perEnvironment = await Promise.all(
    watched.map(async ({ environment, region, alarmNames }) => {
      const cloudwatch = cloudwatchOf(region);
      const [current, histories] = await Promise.all([
        currentStates(cloudwatch, alarmNames),
        Promise.all(alarmNames.map((name) => firstAlarmSince(cloudwatch, name, since))),
      ]);
      return alarmNames.flatMap((alarmName, index): AlarmBreach[] => {
        const fired = histories[index];
        if (fired) return [{ environment, alarmName, ...fired }];
        const state = current.get(alarmName);
        if (!state) {
          return [
            {
              environment,
              alarmName,
              at: new Date(since).toISOString(),
              reason: `CloudWatch does not know alarm ${alarmName} in ${region}, so it cannot be watched; create it or remove it from the environment's alarms`,
            },
          ];
        }
        if (state.value !== 'ALARM') return [];
        return [{ environment, alarmName, at: state.at, reason: state.reason }];
      });
    }),
  );
  return perEnvironment.flat();
}

interface CurrentState {
  value: string;
  at: string;
  reason: string;
}

/** The current state of each named alarm (metric or composite) that exists. */
async function currentStates(
  cloudwatch: CloudWatchClient,
  alarmNames: readonly string[],
): Promise<Map<string, CurrentState>> {
  const states = new Map<string, CurrentState>();
  for (const names of chunk([...alarmNames], DESCRIBE_ALARMS_MAX)) {
    let NextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: names,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          MaxRecords: DESCRIBE_ALARMS_MAX,
          NextToken,
        }),
      );
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        if (!alarm.AlarmName) continue;
        states.set(alarm.AlarmName, {
          value: alarm.StateValue ?? 'INSUFFICIENT_DATA',
          at: (alarm.StateUpdatedTimestamp ?? new Date()).toISOString(),
          reason: alarm.StateReason ?? 'in ALARM',
        });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return states;
}

/** The earliest StateUpdate into ALARM of one alarm since `since`, if any. */
async function firstAlarmSince(
  cloudwatch: CloudWatchClient,
  alarmName: string,
  since: Date,
): Promise<{ at: string; reason: string } | undefined> {
  let first: { at: string; reason: string } | undefined;
  let NextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        AlarmName: alarmName,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        HistoryItemType: 'StateUpdate',
        StartDate: since,
        ScanBy: 'TimestampAscending',
        MaxRecords: HISTORY_PAGE,
        NextToken,
      }),
    );
    for (const item of page.AlarmHistoryItems ?? []) {
      if (newStateOf(item) !== 'ALARM') continue;
      const at = (item.Timestamp ?? since).toISOString();
      if (!first || at < first.at) first = { at, reason: alarmReason(item) };
    }
    // Oldest first: the first page that holds one has the earliest.
    NextToken = first ? undefined : page.NextToken;
  } while (NextToken);
  return first;
}

function alarmReason(item: { HistoryData?: string; HistorySummary?: string }): string {
  try {
    const data = JSON.parse(item.HistoryData ?? '') as { newState?: { stateReason?: unknown } };
    if (typeof data.newState?.stateReason === 'string') return data.newState.stateReason;
  } catch {
    // The summary says enough.
  }
  return item.HistorySummary ?? 'went into ALARM';
}
