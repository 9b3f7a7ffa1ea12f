import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';

/** How a container's process ended. */
export interface ContainerExit {
  /** The exit code, 128 + signal number when a signal ended it (as Docker reports it); undefined when it never started. */
  exitCode?: number;
  /** Why it could not start (spawn error), as ECS puts it in `container.reason`. */
  startError?: string;
}

/** What a container process is started with. */
export interface ContainerProcessOptions {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  /** Called with each line the process writes to stdout or stderr, as it arrives. */
  onLine: (line: string) => void;
}

/**
 * The process of one container: spawned without a shell in its own process group, so
 * that a kill reaches everything it started (as stopping a container does), while the
 * stop signal goes to the main process only (as Docker sends it to PID 1).
 */
export class ContainerProcess {
  /** Resolves once the process has exited and all of its output was delivered. */
  readonly exited: Promise<ContainerExit>;
  /** Resolves true once the process runs, false when it could not be started. */
  readonly started: Promise<boolean>;
  private readonly child: ChildProcess;
  private running = true;
  private groupGone = false;

  constructor(options: ContainerProcessOptions) {
    const [file, ...args] = options.command;
    this.child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    const outputs = [this.child.stdout, this.child.stderr].map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (!stream) return resolve();
          const decoder = new StringDecoder('utf8');
          let pending = '';
          const emit = (text: string) => {
            pending += text;
            const lines = pending.split(/\r?\n/);
            pending = lines.pop() ?? '';
            for (const line of lines) options.onLine(line);
          };
          stream.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
          // A broken pipe ends the output like a close; it must not become an uncaught error.
          stream.on('error', () => stream.destroy());
          stream.on('close', () => {
            emit(decoder.end());
            if (pending !== '') options.onLine(pending);
            pending = '';
            resolve();
          });
        }),
    );
    this.started = new Promise<boolean>((resolve) => {
      this.child.once('spawn', () => resolve(true));
      this.child.once('error', () => resolve(false));
    });
    this.exited = new Promise<ContainerExit>((resolve) => {
      this.child.once('error', (error) => {
        this.running = false;
        resolve({ startError: error.message });
      });
      this.child.once('exit', (code, signal) => {
        this.running = false;
        // The container ends with its main process: nothing it started survives it.
        this.killGroup('SIGKILL');
        // Its id may be reused by an unrelated process from now on.
        this.groupGone = true;
        const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
        void Promise.all(outputs).then(() => resolve({ exitCode }));
      });
    });
  }

  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child.pid : undefined;
  }

  /** The id of the process group (the main process's pid), kept after it ended. */
  get processGroupId(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.running;
  }

  /** Sends `signal` to the main process only. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Sends `signal` to the whole process group. */
  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined || this.groupGone) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is gone already.
    }
  }
}
