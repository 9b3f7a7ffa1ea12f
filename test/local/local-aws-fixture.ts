import { readdirSync, readFileSync } from 'node:fs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { expect } from 'vitest';
import { LocalAws, type LocalAwsOptions } from '../../local/local-aws.js';

/** SDK client settings pointing at a local AWS, with dummy credentials. */
export function clientConfig(local: LocalAws, region = 'us-east-1') {
  return {
    endpoint: local.endpoint,
    region,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  };
}

/** A started local AWS on a free port and real SDK clients for it. */
export async function startLocal(options: LocalAwsOptions = {}, region = 'us-east-1') {
  const local = await LocalAws.start({ port: 0, ...options });
  const config = clientConfig(local, region);
  return {
    local,
    ecs: new ECSClient(config),
    logs: new CloudWatchLogsClient(config),
    events: new EventBridgeClient(config),
  };
}

/**
 * Polls `probe` every 20 ms until it returns a value other than undefined; fails after
 * `timeoutMs`, naming `what` it waited for when given.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what?: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(what ? `Timed out waiting for ${what}.` : `Condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Pids of live (not zombie) processes that are, or belong to the process group of, one of `pids`. */
function survivors(pids: number[]): number[] {
  const wanted = new Set(pids);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // it exited while we looked
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    if (state !== 'Z' && (wanted.has(pid) || wanted.has(Number(pgrp)))) found.push(pid);
  }
  return found;
}

/** Stops the local AWS and asserts that no process of any task (or its process group) is left. */
export async function stopAndAssertNoProcesses(local: LocalAws): Promise<void> {
  const groups = local.ecs
    .allTasks()
    .flatMap((record) => record.containers.map((run) => run.process?.processGroupId))
    .filter((pid) => pid !== undefined);
  await local.stop();
  // SIGKILL reaches the rest of a group asynchronously: give it a moment before judging.
  await eventually(() => (survivors(groups).length === 0 ? true : undefined), 5_000).catch(() => undefined);
  expect(survivors(groups)).toEqual([]);
}

/** A container command running `script` with node. */
export const nodeCommand = (script: string) => [process.execPath, '-e', script];
