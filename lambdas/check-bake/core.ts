import { alarmBreaches, watchedAlarms } from '../shared/alarms.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import type { Watch } from '../shared/lambda-context.js';
import type { AlarmBreach, BakeState, DeployState } from '../shared/types.js';
import { waveOf } from '../shared/waves.js';

/** What Bake calls: CloudWatch, for the wave's alarms. */
export interface CheckBakeDeps {
  clients: Pick<Clients, 'cloudwatch'>;
  clock: Clock;
  config: DeployConfig;
}

/** Where a bake stands after one look. */
export interface BakeLook {
  /** Alarms of the wave's environments that went into ALARM since the wave began. */
  alarms: readonly AlarmBreach[];
  /** Milliseconds (as the clock counts them) since traffic moved on every deployment of the wave. */
  bakedMs: number;
  /** How long the wave bakes. */
  bakeMs: number;
}

/** FAILED once an alarm of the wave went into ALARM, SUCCEEDED once the bake time passed, RUNNING otherwise. */
export function judgeBake(look: BakeLook): BakeState['status'] {
  if (look.alarms.length > 0) return 'FAILED';
  return look.bakedMs >= look.bakeMs ? 'SUCCEEDED' : 'RUNNING';
}

/**
 * Bakes the wave `deploy` deployed: from the time traffic moved on all its deployments, for
 * `bakeSeconds`, its environments' alarms are watched (their current state and their history
 * since the wave began, every `pollSeconds`): one that went into ALARM fails the wave. The
 * watch is handed back (RUNNING) before the function runs out of time. Once the bake passed,
 * the state names the next wave, unless this was the last.
 */
export async function checkBake(deps: CheckBakeDeps, deploy: DeployState, watch: Watch): Promise<BakeState> {
  const wave = waveOf(deploy);
  const watched = watchedAlarms(deps.config, wave.environments);
  const since = new Date(wave.startedAt);
  const movedAtMs = Date.parse(wave.trafficMovedAt ?? wave.startedAt);
  const bakeMs = (deps.config.bakeSeconds ?? 0) * 1000;
  const pollMs = deps.config.pollSeconds * 1000;
  const state = (status: BakeState['status'], alarms: AlarmBreach[]): BakeState => ({
    wave: wave.index,
    status,
    until: new Date(movedAtMs + bakeMs).toISOString(),
    alarms,
    ...(status === 'SUCCEEDED' && wave.index + 1 < wave.of ? { nextWave: wave.index + 1 } : {}),
  });
  for (;;) {
    const alarms = watched.length > 0 ? await alarmBreaches(deps.clients.cloudwatch, watched, since) : [];
    const bakedMs = deps.clock.elapsedMs(movedAtMs);
    const status = judgeBake({ alarms, bakedMs, bakeMs });
    // The last look comes when the bake ends, not a whole poll later.
    const sleepMs = Math.max(0, Math.min(pollMs, bakeMs - bakedMs));
    if (status !== 'RUNNING' || !watch.allows(sleepMs)) return state(status, alarms);
    await deps.clock.sleep(sleepMs);
  }
}
