import {
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
  type StartExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import type { Clock } from '../lambdas/shared/clock.js';
import { describeReadFailure, UnreadableRunError } from './errors.js';
import type { TailEvent } from './events.js';
import { followRun, type InterruptSource, type TailClients } from './follow-run.js';
import { HumanRenderer, JsonRenderer, type Renderer } from './render.js';
import { type CliIo, EXIT_UNREADABLE } from './tail-deploy.js';

/** How `stepdeploy release` and `stepdeploy rollback` start a run and follow it. */
export interface FollowOptions {
  json?: boolean;
  color: boolean;
  detachOnInterrupt?: boolean;
  dryRun?: boolean;
  pollInterval: number;
  maxLogsRps: number;
  drainTimeout: number;
}

/** One run to start. */
export interface StartRun {
  readonly stateMachineArn: string;
  readonly region: string;
  /** The execution name (`executionNameOf`). */
  readonly name: string;
  /** The execution input. */
  readonly input: Record<string, unknown>;
  readonly options: FollowOptions;
  readonly clients: TailClients;
  readonly io: CliIo;
  readonly clock: Clock;
  readonly interrupts: InterruptSource;
}

const STAMP_CHARACTERS = /[-:]|\.\d+Z$/g;

/**
 * The execution name of a run of `release` started at `nowMs`: the release name with its dots
 * made dashes (a state machine that logs to CloudWatch Logs takes only A-Z a-z 0-9 - _ in
 * execution names) and the UTC start time, `2026-11-26-3-20261126T080102`. A release name has
 * at most 64 characters, so the name stays within the 80 Step Functions allows; two runs of a
 * release get two names, and a StartExecution the SDK retries the same one.
 */
export function executionNameOf(release: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(STAMP_CHARACTERS, '');
  return `${release.replaceAll('.', '-')}-${stamp}`;
}

/** The command's output: NDJSON events with `--json`, lines for people otherwise. */
export function rendererFor(
  options: Pick<FollowOptions, 'json' | 'color'>,
  io: CliIo,
  command = 'stepdeploy',
): Renderer {
  const env = io.env ?? process.env;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return options.json
    ? new JsonRenderer(io.stdout)
    : new HumanRenderer({
        out: io.stdout,
        err: io.stderr,
        color: options.color && !noColor && io.stdout.isTTY === true,
        command,
      });
}

/** Why StartExecution failed, and what to do. */
function describeStartFailure(run: StartRun, error: unknown): string {
  const name = error instanceof Error ? error.name : 'Error';
  if (name === 'ExecutionAlreadyExists') {
    return `An execution named ${run.name} of ${run.stateMachineArn} exists already with another input; start the release again in a second (the name carries the start time).`;
  }
  if (name === 'InvalidExecutionInput' || name === 'InvalidName') {
    return `StartExecution refused the run ${run.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return describeReadFailure(
    'StartExecution',
    'states:StartExecution',
    run.stateMachineArn,
    run.region,
    error,
  );
}

/**
 * Starts the run (StartExecution) and follows it as `tail-deploy` does, returning its exit code.
 * Ctrl+C stops it (StopExecution; the cleanup rolls it back) and follows it to its end, unless
 * `detachOnInterrupt`; a second Ctrl+C detaches. With `dryRun`, prints the execution input it
 * would start and starts nothing.
 */
export async function startAndFollow(run: StartRun): Promise<number> {
  const { io, options } = run;
  const renderer = rendererFor(options, io);
  const now = () => new Date(run.clock.nowMs()).toISOString();
  if (options.dryRun) {
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ stateMachineArn: run.stateMachineArn, name: run.name, input: run.input })}\n`,
      );
    } else {
      io.stderr.write(
        `stepdeploy: dry run, nothing started; would start execution ${run.name} of ${run.stateMachineArn} with this input:\n`,
      );
      io.stdout.write(`${JSON.stringify(run.input, null, 2)}\n`);
    }
    return 0;
  }
  const input = JSON.stringify(run.input);
  let started: StartExecutionCommandOutput;
  try {
    started = await run.clients
      .sfn(run.region)
      .send(new StartExecutionCommand({ stateMachineArn: run.stateMachineArn, name: run.name, input }));
  } catch (error) {
    renderer.render({
      type: 'error',
      time: now(),
      message: describeStartFailure(run, error),
      ...(error instanceof Error ? { code: error.name } : {}),
    });
    return EXIT_UNREADABLE;
  }
  const executionArn = started.executionArn as string;
  io.stderr.write(`stepdeploy: started ${executionArn}\n`);
  const execution: DescribeExecutionCommandOutput & { executionArn: string } = {
    $metadata: {},
    executionArn,
    stateMachineArn: run.stateMachineArn,
    name: run.name,
    status: 'RUNNING',
    startDate: started.startDate,
    input,
  };
  try {
    const result = await followRun({
      execution,
      region: run.region,
      clients: run.clients,
      clock: run.clock,
      emit: (event: TailEvent) => renderer.render(event),
      pollIntervalMs: options.pollInterval,
      maxLogsRps: options.maxLogsRps,
      interrupts: run.interrupts,
      notify: (message) => io.stderr.write(`stepdeploy: ${message}\n`),
      abortOnInterrupt: options.detachOnInterrupt !== true,
      stopCause: 'Stopped by stepdeploy (Ctrl+C); the cleanup rolls the run back.',
      drainTimeoutMs: options.drainTimeout,
    });
    if (result.status === 'DETACHED') {
      io.stderr.write(`Detached; the run goes on. Re-attach with:\n  stepdeploy tail ${executionArn}\n`);
    }
    return result.exitCode;
  } catch (error) {
    if (!(error instanceof UnreadableRunError)) throw error;
    renderer.render({
      type: 'error',
      time: now(),
      message: error.message,
      ...(error.cause instanceof Error ? { code: error.cause.name } : {}),
    });
    return EXIT_UNREADABLE;
  }
}
