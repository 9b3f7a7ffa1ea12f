import { spawn } from 'node:child_process';

/** How a child process ended, with what it printed. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  elapsedMs: number;
}

/** Options of `runProcess`. */
export interface RunProcessOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL to its process group) after this long; the result then has `signal`. */
  timeoutMs?: number;
}

/**
 * Runs a command to its end and times it. The child leads its own process group so a
 * timeout also ends what it spawned (npm -> tsx -> node, task processes...).
 */
export function runProcess(command: string, args: readonly string[], options: RunProcessOptions) {
  return new Promise<ProcessResult>((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (child.pid !== undefined) {
              try {
                process.kill(-child.pid, 'SIGKILL');
              } catch {
                // Already gone: the exit handler below reports it.
              }
            }
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

/** The last lines of a process's output, for an error message. */
export function tailOf(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
