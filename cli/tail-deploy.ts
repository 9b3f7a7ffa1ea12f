import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  type ListExecutionsCommandOutput,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type Clock, systemClock } from '../lambdas/shared/clock.js';
import { parseJsonOrUndefined } from '../lambdas/shared/json.js';
import { describeReadFailure, UnreadableRunError, UsageError } from './errors.js';
import type { TailEvent } from './events.js';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  followRun,
  type InterruptSource,
  releaseOf,
  type TailClients,
} from './follow-run.js';
import { HumanRenderer, JsonRenderer, type OutputStream, type Renderer } from './render.js';

/** What `main` reads and writes instead of the process's globals, so tests can drive it. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default SIGINT of this process */
  readonly interrupts?: InterruptSource;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** Exit code for a run that could not be found or read. */
export const EXIT_UNREADABLE = 3;
export { EXIT_INCOMPLETE } from './follow-run.js';
/** Exit code for a wrong command line (EX_USAGE). */
export const EXIT_USAGE = 64;

/** Options of `tail-deploy`, as parsed from the command line. */
export interface TailDeployOptions {
  stateMachine?: string;
  release?: string;
  latest?: boolean;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  since?: number;
  json?: boolean;
  color: boolean;
  abortOnInterrupt?: boolean;
  pollInterval: number;
  maxLogsRps: number;
  drainTimeout: number;
}

const EXAMPLES = `
Examples:
  $ tail-deploy arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26-3
  $ tail-deploy --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:Deploy --release 2026-11-26.3
  $ tail-deploy --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:Deploy --latest --json
  $ tail-deploy <execution-arn> --since 10m --no-color
  $ tail-deploy <execution-arn> --abort-on-interrupt
  $ tail-deploy <execution-arn> --region eu-west-1 --profile release-readonly
  $ tail-deploy <execution-arn> --poll-interval 2000 --max-logs-rps 5
  $ tail-deploy <execution-arn> --drain-timeout 15m   # wait longer for the last lines under throttling
  $ tail-deploy <execution-arn> --endpoint-url http://127.0.0.1:4566   # the local AWS; or AWS_ENDPOINT_URL

Exit codes: 0 succeeded, 1 failed or rolled back, 2 aborted or timed out,
3 the run could not be found or read, 4 succeeded but some log lines could not be read
(the summary lists the streams), 64 bad usage, 130 detached (Ctrl+C).
`;

/** A Step Functions ARN: its Region (1), its kind (2: execution, express or stateMachine). */
export const ARN =
  /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:(execution|express|stateMachine):[^:]+(:[^:]+)?$/;

/** A commander parser of a number > 0, naming `flag` when the value is not one. */
export function positiveNumber(flag: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) {
      throw new InvalidArgumentError(`${flag} takes a number > 0, got "${value}".`);
    }
    return number;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `500ms`, `90s`, `10m`, `2h` or `1d`, in milliseconds; undefined when `value` is not one. */
function durationMs(value: string): number | undefined {
  const duration = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  return duration ? Number(duration[1]) * UNIT_MS[duration[2]] : undefined;
}

/** `--drain-timeout`: a duration (`90s`, `10m`) in milliseconds. */
export function parseDrainTimeout(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError(`--drain-timeout takes a duration such as 90s or 10m, got "${value}".`);
  }
  return ms;
}

/** `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`) or an ISO time; returns ms since the epoch. */
export function parseSince(value: string, nowMs: number): number {
  const back = durationMs(value);
  if (back !== undefined) return nowMs - back;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new InvalidArgumentError(
    `--since takes a duration (90s, 10m, 2h, 1d) or an ISO time (2026-11-26T08:00:00Z), got "${value}".`,
  );
}

function program(io: CliIo, clock: Clock, name: string): Command {
  const command = new Command(name)
    .description(
      'Follow a stepdeploy release live: every task log line prefixed by its environment, phases, deployments, and the outcome as the exit code.',
    )
    .argument('[execution-arn]', 'the execution to follow')
    .option('--state-machine <arn>', 'find the execution in this state machine (with --release or --latest)')
    .option('--release <name>', 'with --state-machine: the newest execution whose input.release is <name>')
    .option('--latest', 'with --state-machine: the newest execution')
    .option('--region <region>', "Region of the run (default: the ARN's Region)")
    .option('--profile <name>', 'named profile for credentials (default: AWS_PROFILE, then the SDK chain)')
    .option('--endpoint-url <url>', 'send every call to this endpoint (default: AWS_ENDPOINT_URL*, then AWS)')
    .option(
      '--since <duration|time>',
      'print log lines from this time on, e.g. 10m or 2026-11-26T08:00:00Z (default: from the head of each stream)',
      (value: string) => parseSince(value, clock.nowMs()),
    )
    .option('--json', 'one JSON object per line (NDJSON), see docs/tail-deploy-events.schema.json')
    .option('--no-color', 'no colours (also when NO_COLOR is set or the output is not a terminal)')
    .option(
      '--abort-on-interrupt',
      'on Ctrl+C stop the execution (the cleanup rolls back) and follow until it ended',
    )
    .option(
      '--poll-interval <ms>',
      'milliseconds between two looks at the run and at idle streams',
      positiveNumber('--poll-interval'),
      1000,
    )
    .option(
      '--max-logs-rps <n>',
      'CloudWatch Logs calls per second, all streams together (half the GetLogEvents quota of 25/s)',
      positiveNumber('--max-logs-rps'),
      12,
    )
    .addOption(
      new Option(
        '--drain-timeout <duration>',
        'once the run ended, how long to keep reading log streams until each is drained (e.g. 90s, 10m)',
      )
        .argParser(parseDrainTimeout)
        .default(DEFAULT_DRAIN_TIMEOUT_MS, `${DEFAULT_DRAIN_TIMEOUT_MS / 60_000}m`),
    )
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError(`(run ${name} --help for usage)`);
  return command;
}

/** Per-Region SDK clients with the endpoint and profile of the command line. */
export function makeClients(
  options: Pick<TailDeployOptions, 'endpointUrl' | 'profile'>,
): TailClients & { destroy(): void } {
  const made: Array<{ destroy(): void }> = [];
  const base = {
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  function perRegion<T extends { destroy(): void }>(make: (region: string) => T): (region: string) => T {
    const byRegion = new Map<string, T>();
    return (region) => {
      let client = byRegion.get(region);
      if (!client) {
        client = make(region);
        made.push(client);
        byRegion.set(region, client);
      }
      return client;
    };
  }
  return {
    sfn: perRegion((region) => new SFNClient({ ...base, region })),
    ecs: perRegion((region) => new ECSClient({ ...base, region })),
    codedeploy: perRegion((region) => new CodeDeployClient({ ...base, region })),
    // One attempt per call: the follower retries throttled calls through its own rate limiter.
    logs: perRegion((region) => new CloudWatchLogsClient({ ...base, region, maxAttempts: 1 })),
    destroy: () => {
      for (const client of made) client.destroy();
    },
  };
}

/** Ctrl+C of this process. */
export const processInterrupts: InterruptSource = (listener) => {
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
};

/** Validates the combination of arguments; returns the ARN to start from and its Region. */
function target(arn: string | undefined, options: TailDeployOptions): { arn: string; region: string } {
  if (arn && options.stateMachine) {
    throw new UsageError('give either an execution ARN or --state-machine, not both.');
  }
  if (!arn && !options.stateMachine) {
    throw new UsageError(
      'give an execution ARN, or --state-machine <arn> with --release <name> or --latest.',
    );
  }
  if (options.stateMachine && Boolean(options.release) === Boolean(options.latest)) {
    throw new UsageError('with --state-machine, give exactly one of --release <name> or --latest.');
  }
  if (arn && (options.release || options.latest)) {
    throw new UsageError(
      '--release and --latest go with --state-machine; an execution ARN names the run already.',
    );
  }
  const given = (arn ?? options.stateMachine) as string;
  const match = ARN.exec(given);
  const wanted = arn ? ['execution', 'express'] : ['stateMachine'];
  if (!match || !wanted.includes(match[2])) {
    const kind = arn
      ? 'an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)'
      : 'a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)';
    throw new UsageError(`"${given}" is not ${kind}.`);
  }
  return { arn: given, region: options.region ?? match[1] };
}

/** The execution started last among `items`, as a list of one (none when empty). */
function newestStarted<T extends { startDate?: Date }>(items: readonly T[]): T[] {
  let newest: T | undefined;
  for (const item of items) {
    if (!newest || (item.startDate?.getTime() ?? 0) > (newest.startDate?.getTime() ?? 0)) newest = item;
  }
  return newest ? [newest] : [];
}

/** How many executions `--release` looks through, newest first, before giving up. */
export const RELEASE_SEARCH_LIMIT = 500;

async function findExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  region: string,
  options: TailDeployOptions,
): Promise<DescribeExecutionCommandOutput & { executionArn: string }> {
  let nextToken: string | undefined;
  let seen = 0;
  const fail = (operation: string, permission: string, error: unknown) =>
    new UnreadableRunError(describeReadFailure(operation, permission, stateMachineArn, region, error), {
      cause: error,
    });
  do {
    let page: ListExecutionsCommandOutput;
    try {
      page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }));
    } catch (error) {
      throw fail('ListExecutions', 'states:ListExecutions', error);
    }
    // ListExecutions orders running executions by start and closed ones by stop: the newest
    // started one need not come first, so --latest picks it by its start among the page.
    const listed = options.latest ? newestStarted(page.executions ?? []) : (page.executions ?? []);
    for (const item of listed) {
      if (!item.executionArn) continue;
      seen += 1;
      let described: DescribeExecutionCommandOutput;
      try {
        described = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
      } catch (error) {
        throw fail('DescribeExecution', 'states:DescribeExecution', error);
      }
      if (options.latest || releaseOf(parseJsonOrUndefined(described.input)) === options.release) {
        return { ...described, executionArn: item.executionArn };
      }
    }
    nextToken = options.latest ? undefined : page.nextToken;
  } while (nextToken && seen < RELEASE_SEARCH_LIMIT);
  const what = options.latest ? 'no execution' : `no execution with input.release "${options.release}"`;
  throw new UnreadableRunError(
    `${stateMachineArn} in Region ${region} has ${what} (looked at the newest ${seen}). Check the name, or pass the execution ARN.`,
  );
}

/** How another command runs `tail-deploy` as one of its own (`stepdeploy tail`). */
export interface TailAs {
  /** The command's name in help, messages and the re-attach line. @default 'tail-deploy' */
  readonly command?: string;
  /** The state machine when neither an execution ARN nor `--state-machine` is given. */
  readonly defaultStateMachine?: string;
}

/**
 * Runs `tail-deploy` with `argv` (without the node and script paths) and returns its
 * exit code: 0 succeeded, 1 failed or rolled back, 2 aborted or timed out, 3 the run
 * could not be found or read, 4 succeeded but some log lines could not be read, 64 bad
 * usage, 130 detached on Ctrl+C.
 */
export async function main(argv: readonly string[], io: CliIo, as: TailAs = {}): Promise<number> {
  const name = as.command ?? 'tail-deploy';
  const clock = io.clock ?? systemClock(1);
  const env = io.env ?? process.env;
  const command = program(io, clock, name);
  let arn: string | undefined;
  let options: TailDeployOptions;
  try {
    await command.parseAsync([...argv], { from: 'user' });
    arn = command.args[0];
    options = command.opts<TailDeployOptions>();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    throw error;
  }
  if (!arn && !options.stateMachine && as.defaultStateMachine) options.stateMachine = as.defaultStateMachine;

  let where: { arn: string; region: string };
  try {
    where = target(arn, options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${name}: ${error.message}\n(run ${name} --help for usage)\n`);
    return EXIT_USAGE;
  }

  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const renderer: Renderer = options.json
    ? new JsonRenderer(io.stdout)
    : new HumanRenderer({
        out: io.stdout,
        err: io.stderr,
        color: options.color && !noColor && io.stdout.isTTY === true,
        command: name,
      });
  const emit = (event: TailEvent) => renderer.render(event);
  const clients = makeClients(options);
  try {
    const sfn = clients.sfn(where.region);
    let execution: DescribeExecutionCommandOutput & { executionArn: string };
    if (options.stateMachine) {
      execution = await findExecution(sfn, where.arn, where.region, options);
    } else {
      try {
        execution = {
          ...(await sfn.send(new DescribeExecutionCommand({ executionArn: where.arn }))),
          executionArn: where.arn,
        };
      } catch (error) {
        throw new UnreadableRunError(
          describeReadFailure(
            'DescribeExecution',
            'states:DescribeExecution',
            where.arn,
            where.region,
            error,
          ),
          { cause: error },
        );
      }
    }
    const result = await followRun({
      execution,
      region: where.region,
      clients,
      clock,
      emit,
      pollIntervalMs: options.pollInterval,
      maxLogsRps: options.maxLogsRps,
      sinceMs: options.since,
      interrupts: io.interrupts ?? processInterrupts,
      notify: (message) => io.stderr.write(`${name}: ${message}\n`),
      abortOnInterrupt: options.abortOnInterrupt === true,
      drainTimeoutMs: options.drainTimeout,
    });
    if (result.status === 'DETACHED') {
      io.stderr.write(
        `Detached; the run goes on. Re-attach with:\n  ${name} ${execution.executionArn}${where.region !== ARN.exec(execution.executionArn)?.[1] ? ` --region ${where.region}` : ''}\n`,
      );
    }
    return result.exitCode;
  } catch (error) {
    if (error instanceof UnreadableRunError) {
      emit({
        type: 'error',
        time: new Date(clock.nowMs()).toISOString(),
        message: error.message,
        code: causeName(error),
      });
      return EXIT_UNREADABLE;
    }
    throw error;
  } finally {
    clients.destroy();
  }
}

function causeName(error: Error): string | undefined {
  return error.cause instanceof Error ? error.cause.name : undefined;
}
