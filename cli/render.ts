import type { TailEvent } from './events.js';

/** Where the output goes: anything with `write`, like `process.stdout`. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** Set on terminals; colour is used only there. */
  isTTY?: boolean;
}

/** Turns events into output lines. */
export interface Renderer {
  render(event: TailEvent): void;
}

const RESET = '\u001b[0m';
const BOLD = '\u001b[1m';
const DIM = '\u001b[2m';
const RED = '\u001b[31m';
const GREEN = '\u001b[32m';
const ENDED_BADLY = new Set(['Failed', 'Stopped']);
/** Environment colours, assigned in the order environments first show up. */
const PALETTE = [
  '\u001b[36m',
  '\u001b[35m',
  '\u001b[33m',
  '\u001b[34m',
  '\u001b[32m',
  '\u001b[96m',
  '\u001b[95m',
];

/** NDJSON: one JSON object per event and line, as `docs/tail-deploy-events.schema.json` describes. */
export class JsonRenderer implements Renderer {
  private readonly out: OutputStream;

  constructor(out: OutputStream) {
    this.out = out;
  }

  render(event: TailEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}

/** `1m02s`, `3.4s`, `120ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m${seconds}s` : `${minutes}m${seconds}s`;
}

/** The id at the end of an ARN, cut to 12 characters as the ECS console shows task ids. */
function shortId(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1).slice(0, 12);
}

/**
 * Human output: every line of an environment prefixed `[env]`, in a colour of its own
 * when `color` is on; phases, task ends, deployments and the summary on lines of their
 * own. Errors go to `err`.
 */
export class HumanRenderer implements Renderer {
  private readonly out: OutputStream;
  private readonly err: OutputStream;
  private readonly color: boolean;
  private readonly command: string;
  private readonly colors = new Map<string, string>();

  /** `command` names the program before an error (default `tail-deploy`). */
  constructor(props: { out: OutputStream; err: OutputStream; color: boolean; command?: string }) {
    this.out = props.out;
    this.err = props.err;
    this.color = props.color;
    this.command = props.command ?? 'tail-deploy';
  }

  private paint(code: string, text: string): string {
    return this.color ? `${code}${text}${RESET}` : text;
  }

  private prefix(environment: string): string {
    let code = this.colors.get(environment);
    if (!code) {
      code = PALETTE[this.colors.size % PALETTE.length];
      this.colors.set(environment, code);
    }
    return this.paint(code, `[${environment}]`);
  }

  render(event: TailEvent): void {
    const line = this.format(event);
    if (line === undefined) return;
    (event.type === 'error' ? this.err : this.out).write(`${line}\n`);
  }

  private format(event: TailEvent): string | undefined {
    switch (event.type) {
      case 'phase':
        return this.paint(BOLD, `==> ${event.state}`);
      case 'task-started':
        return `${this.prefix(event.environment)} ${this.paint(DIM, `${event.step} started (task ${shortId(event.taskArn)}, ${event.phase})`)}`;
      case 'log': {
        // A multi-line event (a stack trace) keeps its prefix on every line.
        const prefix = this.prefix(event.environment);
        return event.message
          .replace(/\r?\n$/, '')
          .split(/\r?\n/)
          .map((line) => `${prefix} ${line}`)
          .join('\n');
      }
      case 'task-stopped': {
        const ok = event.exitCode === 0;
        const exit = event.exitCode === null ? 'stopped without an exit code' : `exited ${event.exitCode}`;
        const after = event.durationMs === null ? '' : ` after ${formatDuration(event.durationMs)}`;
        const why = ok || !event.reason ? '' : ` (${event.reason})`;
        return `${this.prefix(event.environment)} ${this.paint(ok ? GREEN : RED, `${event.step} ${exit}${after}${why}`)}`;
      }
      case 'deployment': {
        const what = event.rollback ? 'rollback deployment' : 'deployment';
        // A stopped or failed deployment keeps the flag; what counts then is that it did not finish.
        const traffic = event.trafficShifted && !ENDED_BADLY.has(event.status) ? ', traffic shifted' : '';
        const message = event.message ? `: ${event.message}` : '';
        const code = event.status === 'Succeeded' ? GREEN : event.status === 'Failed' ? RED : DIM;
        return `${this.prefix(event.environment)} ${this.paint(code, `${event.service} ${what} ${event.deploymentId} ${event.status}${traffic}${message}`)}`;
      }
      case 'rollback': {
        const via = event.rollbackDeploymentId ? ` via ${event.rollbackDeploymentId}` : '';
        const what = event.status ? `rollback (${event.action}) of` : `rolling back (${event.action})`;
        const status = event.status ? `: ${event.status}` : '';
        return `${this.prefix(event.environment)} ${this.paint(RED, `${event.service} ${what} ${event.deploymentId}${via}${status}`)}`;
      }
      case 'termination-wait-ended':
        return `${this.prefix(event.environment)} ${this.paint(DIM, `${event.service}: ended the termination wait of release ${event.release}'s deployment ${event.deploymentId}; its original tasks are terminated now`)}`;
      case 'summary': {
        // Detaching is not an end of the run; the command says how to re-attach instead.
        if (event.status === 'DETACHED') return undefined;
        const ok = event.exitCode === 0;
        const release =
          (event.release ? `Release ${event.release}` : 'Run') +
          (event.rollbackTo ? ` (rollback to ${event.rollbackTo})` : '');
        const outcome = event.outcome && event.outcome !== event.status ? ` (${event.outcome})` : '';
        const took = event.durationMs === null ? '' : ` in ${formatDuration(event.durationMs)}`;
        const lines = [this.paint(BOLD + (ok ? GREEN : RED), `${release} ${event.status}${outcome}${took}`)];
        if (event.error) {
          const cause = (event.cause ?? '').split('\n').join('\n    ');
          lines.push(`  ${event.error}${cause ? `: ${cause}` : ''}`);
        }
        for (const task of event.tasks) {
          const exit = task.exitCode === null ? 'no exit code' : `exit ${task.exitCode}`;
          lines.push(`  ${this.prefix(task.environment)} ${task.step}: ${exit}, ${task.logLines} lines`);
        }
        for (const deployment of event.deployments) {
          lines.push(
            `  ${this.prefix(deployment.environment)} ${deployment.service}: ${deployment.status} (${deployment.deploymentId})`,
          );
        }
        if (event.incomplete?.length) {
          lines.push(
            this.paint(
              RED,
              `  output incomplete: ${event.incomplete.length} log stream(s) not read to their end (exit code ${event.exitCode})`,
            ),
          );
        }
        lines.push(`  ${event.executionArn}`);
        return lines.join('\n');
      }
      case 'error':
        return this.paint(RED, `${this.command}: ${event.message}`);
    }
  }
}
