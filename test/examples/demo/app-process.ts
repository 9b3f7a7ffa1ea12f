import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: the app's commands run from there, as the task definitions say. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A fresh data directory, as a local AWS instance would hand the app in `LOCAL_DATA_DIR`. */
export function freshDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'stepdeploy-demo-app-'));
}

/** A running app process with its output collected line by line. */
export interface AppProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the exit code (or the signal name) once the process ended. */
  exited: Promise<number | string>;
  /** Resolves with the first line matching `pattern`; rejects after `timeoutMs` naming what was seen. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts `argv` (e.g. `['node', 'examples/demo/app/worker.mjs']`) from the repository root. */
export function startApp(argv: string[], env: Record<string, string>): AppProcess {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
      for (const wake of waiters.splice(0)) wake();
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      for (const wake of waiters.splice(0)) wake();
    });
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join('\n')}`)),
        timeoutMs,
      );
      const look = () => {
        const found = lines.find((line) => pattern.test(line));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`process ended before a line matching ${pattern}; got:\n${lines.join('\n')}`));
        } else {
          waiters.push(look);
        }
      };
      look();
    });
  return { child, lines, exited, waitForLine };
}

/** Runs an app script to completion; resolves with its exit code and output lines. */
export async function runApp(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | string; lines: string[] }> {
  const app = startApp(['node', script], env);
  const code = await app.exited;
  // The exit event can precede the last 'data' events of the pipes.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, lines: app.lines };
}
