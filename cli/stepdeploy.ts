import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type Clock, systemClock } from '../lambdas/shared/clock.js';
import { RELEASE_NAME } from '../lambdas/shared/markers.js';
import { UnreadableRunError, UsageError } from './errors.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from './follow-run.js';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  previousRelease,
  releaseHistory,
  renderHistory,
} from './release-history.js';
import { executionNameOf, type FollowOptions, rendererFor, startAndFollow } from './start-run.js';
import {
  ARN,
  type CliIo,
  EXIT_UNREADABLE,
  EXIT_USAGE,
  makeClients,
  parseDrainTimeout,
  positiveNumber,
  processInterrupts,
  main as tailDeploy,
} from './tail-deploy.js';

/** The environment variable naming the state machine when `--state-machine` is not given. */
export const STATE_MACHINE_ENV = 'STEPDEPLOY_STATE_MACHINE';

/** How many executions `stepdeploy rollback` reads to find the release before the current one. */
export const ROLLBACK_HISTORY_LIMIT = 100;

/** Options every command takes. */
interface CommonOptions {
  stateMachine?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  json?: boolean;
}

interface ReleaseOptions extends CommonOptions, FollowOptions {
  image: Record<string, string>;
  env?: string[];
  skipMigrations?: boolean;
}

interface RollbackOptions extends CommonOptions, FollowOptions {
  to?: string;
  release?: string;
  env?: string[];
}

interface HistoryOptions extends CommonOptions {
  limit: number;
}

const CONTAINER = /^[A-Za-z0-9_-]{1,255}$/;
const ENVIRONMENT = /^[A-Za-z0-9_-]{1,32}$/;
const RELEASE_RULE = '1-64 of A-Z a-z 0-9 . _ -';
const IMAGE_EXAMPLE = '--image app=123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1d0';

/** `--image <container>=<image URI>`, repeatable: each adds one container. */
export function collectImage(value: string, images: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  const container = at < 0 ? value : value.slice(0, at);
  const image = at < 0 ? '' : value.slice(at + 1);
  if (at < 0 || !CONTAINER.test(container) || image.trim() === '') {
    throw new InvalidArgumentError(
      `expected <container>=<image URI> (a container name of 1-255 of A-Z a-z 0-9 _ -, then the image), e.g. ${IMAGE_EXAMPLE}.`,
    );
  }
  if (images[container] !== undefined) {
    throw new InvalidArgumentError(
      `container "${container}" is given twice (also ${images[container]}); give each container one image.`,
    );
  }
  return { ...images, [container]: image };
}

/** `--env us,eu`, repeatable: the environments, each once. */
export function collectEnvironments(value: string, environments: string[] | undefined): string[] {
  const names = [...(environments ?? [])];
  for (const name of value.split(',').map((part) => part.trim())) {
    if (!ENVIRONMENT.test(name)) {
      throw new InvalidArgumentError(
        `"${name}" is not an environment name (1-32 of A-Z a-z 0-9 _ -); give them comma-separated, e.g. --env us,eu.`,
      );
    }
    if (names.includes(name))
      throw new InvalidArgumentError(`"${name}" is listed twice; list each environment once.`);
    names.push(name);
  }
  return names;
}

/** A release name given to a flag. */
function releaseName(value: string): string {
  if (!RELEASE_NAME.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a release name; use ${RELEASE_RULE}.`);
  }
  return value;
}

function limitOf(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT) {
    throw new InvalidArgumentError(`takes a whole number from 1 to ${HISTORY_MAX_LIMIT}, got "${value}".`);
  }
  return limit;
}

/** The options every command takes. */
function withCommon(command: Command): Command {
  return command
    .option('--state-machine <arn>', `the stepdeploy state machine (default: ${STATE_MACHINE_ENV})`)
    .option('--region <region>', "Region of the state machine (default: the ARN's Region)")
    .option('--profile <name>', 'named profile for credentials (default: AWS_PROFILE, then the SDK chain)')
    .option(
      '--endpoint-url <url>',
      'send every call to this endpoint (default: AWS_ENDPOINT_URL*, then AWS)',
    );
}

/** The options of the commands that start a run and follow it. */
function withFollow(command: Command): Command {
  return command
    .option('--json', 'one JSON object per line (NDJSON), as tail-deploy --json writes them')
    .option('--no-color', 'no colours (also when NO_COLOR is set or the output is not a terminal)')
    .option('--dry-run', 'print the execution input it would start, and start nothing')
    .option('--detach-on-interrupt', 'on Ctrl+C detach and leave the run going (default: stop it)')
    .option(
      '--poll-interval <ms>',
      'milliseconds between two looks at the run and at idle streams',
      positiveNumber('--poll-interval'),
      1000,
    )
    .option(
      '--max-logs-rps <n>',
      'CloudWatch Logs calls per second, all streams together',
      positiveNumber('--max-logs-rps'),
      12,
    )
    .addOption(
      new Option('--drain-timeout <duration>', 'once the run ended, how long to keep reading its log streams')
        .argParser(parseDrainTimeout)
        .default(DEFAULT_DRAIN_TIMEOUT_MS, `${DEFAULT_DRAIN_TIMEOUT_MS / 60_000}m`),
    );
}

const EXAMPLES = `
Examples:
  $ export ${STATE_MACHINE_ENV}=arn:aws:states:us-east-1:123456789012:stateMachine:Deploy
  $ stepdeploy release 2026-11-26.3 ${IMAGE_EXAMPLE}
  $ stepdeploy release 2026-11-26.4 --image app=repo/app:3f2c1d0 --env us,eu --skip-migrations
  $ stepdeploy history
  $ stepdeploy rollback                       # to the last release that succeeded before the current one
  $ stepdeploy rollback --to 2026-11-26.2 --dry-run
  $ stepdeploy tail --latest

Exit codes: 0 succeeded, 1 failed or rolled back, 2 aborted or timed out,
3 the run could not be started, found or read, 4 succeeded but some log lines could not be
read, 64 bad usage, 130 detached (Ctrl+C with --detach-on-interrupt, or a second Ctrl+C).
`;

/** The state machine ARN and its Region, from the options or the environment. */
function stateMachineOf(options: CommonOptions, env: Readonly<Record<string, string | undefined>>) {
  const arn = options.stateMachine ?? env[STATE_MACHINE_ENV];
  if (!arn) {
    throw new UsageError(
      `no state machine: give --state-machine <arn>, or set ${STATE_MACHINE_ENV} (arn:aws:states:<region>:<account>:stateMachine:<name>).`,
    );
  }
  const [, region, kind] = ARN.exec(arn) ?? [];
  if (kind !== 'stateMachine') {
    throw new UsageError(
      `"${arn}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>); check --state-machine or ${STATE_MACHINE_ENV}.`,
    );
  }
  return { arn, region: options.region ?? region };
}

/** What a command's action needs besides its options. */
interface Context {
  io: CliIo;
  clock: Clock;
  env: Readonly<Record<string, string | undefined>>;
}

async function releaseCommand(name: string, options: ReleaseOptions, context: Context): Promise<number> {
  if (!RELEASE_NAME.test(name)) {
    throw new UsageError(`<name> "${name}" is not a release name; use ${RELEASE_RULE}, e.g. 2026-11-26.3.`);
  }
  if (Object.keys(options.image).length === 0) {
    throw new UsageError(`give the image of each container to roll out, e.g. ${IMAGE_EXAMPLE}.`);
  }
  const machine = stateMachineOf(options, context.env);
  const input = {
    release: name,
    images: options.image,
    ...(options.env ? { environments: options.env } : {}),
    ...(options.skipMigrations ? { skipMigrations: true } : {}),
  };
  return start(machine, name, input, options, context);
}

async function rollbackCommand(options: RollbackOptions, context: Context): Promise<number> {
  const machine = stateMachineOf(options, context.env);
  let target = options.to;
  if (target === undefined) {
    const clients = makeClients(options);
    try {
      const records = await releaseHistory(clients.sfn(machine.region), machine.arn, {
        limit: ROLLBACK_HISTORY_LIMIT,
      });
      const previous = previousRelease(records);
      if (!previous?.release) {
        throw new UnreadableRunError(
          `${machine.arn} shows no release to roll back to among its newest ${records.length} executions: ` +
            'none succeeded before the release running now. Give --to <release> (stepdeploy history lists them).',
        );
      }
      target = previous.release;
      context.io.stderr.write(
        `stepdeploy: rolling back to ${target}, the last release that succeeded before the current one (started ${previous.startedAt}).\n`,
      );
    } finally {
      clients.destroy();
    }
  }
  const release = options.release ?? `rollback-to-${target}`.slice(0, 64);
  const input = {
    release,
    rollbackTo: target,
    ...(options.env ? { environments: options.env } : {}),
  };
  return start(machine, release, input, options, context);
}

async function start(
  machine: { arn: string; region: string },
  release: string,
  input: Record<string, unknown>,
  options: CommonOptions & FollowOptions,
  context: Context,
): Promise<number> {
  const clients = makeClients(options);
  try {
    return await startAndFollow({
      stateMachineArn: machine.arn,
      region: machine.region,
      name: executionNameOf(release, context.clock.nowMs()),
      input,
      options,
      clients,
      io: context.io,
      clock: context.clock,
      interrupts: context.io.interrupts ?? processInterrupts,
    });
  } finally {
    clients.destroy();
  }
}

async function historyCommand(options: HistoryOptions, context: Context): Promise<number> {
  const machine = stateMachineOf(options, context.env);
  const clients = makeClients(options);
  try {
    const records = await releaseHistory(clients.sfn(machine.region), machine.arn, { limit: options.limit });
    if (options.json) {
      for (const record of records) context.io.stdout.write(`${JSON.stringify(record)}\n`);
    } else if (records.length === 0) {
      context.io.stderr.write(`stepdeploy: ${machine.arn} has no execution yet.\n`);
    } else {
      renderHistory(records, context.io.stdout);
    }
    return 0;
  } finally {
    clients.destroy();
  }
}

/**
 * Runs `stepdeploy` with `argv` (without the node and script paths) and returns its exit code:
 * `release` and `rollback` start a run and follow it (0 succeeded, 1 failed or rolled back,
 * 2 aborted or timed out, 3 not started or not readable, 4 succeeded with log lines unread,
 * 130 detached), `history` lists the releases (0, or 3), `tail` is `tail-deploy`; 64 bad usage.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const clock = io.clock ?? systemClock(1);
  const env = io.env ?? process.env;
  // tail is tail-deploy, flags and all; it parses its own arguments.
  if (argv[0] === 'tail') {
    return tailDeploy(argv.slice(1), io, {
      command: 'stepdeploy tail',
      defaultStateMachine: env[STATE_MACHINE_ENV],
    });
  }
  const context: Context = { io, clock, env };
  let action: (() => Promise<number>) | undefined;
  let running = 'stepdeploy';
  let json = false;

  const program = new Command('stepdeploy')
    .description(
      'Release, roll back and follow stepdeploy runs, and list what was released when. The state machine comes from --state-machine or STEPDEPLOY_STATE_MACHINE.',
    )
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)');

  withFollow(
    withCommon(
      program
        .command('release')
        .description(
          'start a release of new images and follow it to its end; Ctrl+C stops it (the cleanup rolls back)',
        )
        .argument('<name>', `the release name (${RELEASE_RULE}), e.g. 2026-11-26.3`)
        .addOption(
          new Option(
            '--image <container=uri>',
            'the image of one container, repeatable: --image app=repo/app:tag',
          )
            .argParser(collectImage)
            .default({}, 'none'),
        )
        .option(
          '--env <names>',
          'only these environments, comma-separated (default: all)',
          collectEnvironments,
        )
        .option('--skip-migrations', 'run no migration (pre- and post-deploy steps still run)'),
    ),
  ).action((name: string, options: ReleaseOptions) => {
    running = 'stepdeploy release';
    json = options.json === true;
    action = () => releaseCommand(name, options, context);
  });

  withFollow(
    withCommon(
      program
        .command('rollback')
        .description(
          'deploy an earlier release again (its task definition revisions; no steps, no migrations) and follow it',
        )
        .option(
          '--to <release>',
          'the release to go back to (default: the last release that succeeded before the current one)',
          releaseName,
        )
        .option('--release <name>', 'name of the rollback run (default: rollback-to-<release>)', releaseName)
        .option(
          '--env <names>',
          'only these environments, comma-separated (default: all)',
          collectEnvironments,
        ),
    ),
  ).action((options: RollbackOptions) => {
    running = 'stepdeploy rollback';
    json = options.json === true;
    action = () => rollbackCommand(options, context);
  });

  withCommon(
    program
      .command('history')
      .description(
        'list the releases, newest first: outcome, start, duration, environments, images, rolled back',
      )
      .option('--json', 'one JSON object per release and line')
      .option(
        '--limit <n>',
        `how many executions to read, newest first (1-${HISTORY_MAX_LIMIT})`,
        limitOf,
        HISTORY_DEFAULT_LIMIT,
      ),
  ).action((options: HistoryOptions) => {
    running = 'stepdeploy history';
    json = options.json === true;
    action = () => historyCommand(options, context);
  });

  program
    .command('tail')
    .description('follow a run as tail-deploy does, with its flags (stepdeploy tail --help)')
    .allowUnknownOption()
    .argument('[arguments...]');

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    throw error;
  }
  if (!action) return EXIT_USAGE;
  try {
    return await action();
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${running}: ${error.message}\n(run ${running} --help for usage)\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UnreadableRunError) {
      rendererFor({ json, color: false }, io).render({
        type: 'error',
        time: new Date(clock.nowMs()).toISOString(),
        message: error.message,
        ...(error.cause instanceof Error ? { code: error.cause.name } : {}),
      });
      return EXIT_UNREADABLE;
    }
    throw error;
  }
}
