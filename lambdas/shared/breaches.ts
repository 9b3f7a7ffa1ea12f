import type { AlarmBreach } from './types.js';

/** One line per alarm that failed a wave: environment, alarm, when and why. Kept apart from the CloudWatch client. */
export function describeBreach(breach: AlarmBreach): string {
  return `${breach.environment}: alarm ${breach.alarmName} in ALARM at ${breach.at} (${breach.reason})`;
}
