import './polyfills.js';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { synthesizeSampleTemplate } from '../infra/synthesize.js';
import { type DeployedStack, deployTemplate } from './cloudformation.js';
import { parseFaults } from './faults.js';
import { LocalAws } from './local-aws.js';
import { AWSLOGS_DEFAULT_INTERVAL_MS } from './logs/awslogs-driver.js';

/** Options of `npm run local`. */
export interface LocalOptions {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** How many times faster than real time every wait runs. */
  timeScale: number;
  /** Where task processes keep their data; a new temporary directory when absent. */
  dataDir?: string;
  /** Faults in force from the start (JSON, as `POST /_local/faults` takes them). */
  faults: string[];
  /** Evaluate role sessions' calls against their policies. @default true */
  iam?: boolean;
  /** Milliseconds between two batches of the awslogs driver, before the time scale; AWS's 5000 when absent. */
  awslogsIntervalMs?: number;
}

/** A running local AWS with the sample stack deployed. */
export interface RunningLocal {
  local: LocalAws;
  stack: DeployedStack;
}

/**
 * Starts the local AWS, deploys the sample stack's synthesized template onto it and
 * writes what a user needs to reach it to `out`.
 */
export async function startLocal(options: LocalOptions, out: NodeJS.WritableStream): Promise<RunningLocal> {
  const faults = options.faults.flatMap((text) => {
    try {
      return parseFaults(JSON.parse(text));
    } catch (error) {
      throw new Error(
        `--fault ${text}: ${error instanceof SyntaxError ? 'not JSON' : (error as Error).message}`,
      );
    }
  });
  out.write('Synthesizing the sample stack (infra/sample-stack.ts)...\n');
  const template = synthesizeSampleTemplate();
  const local = await LocalAws.start({
    port: options.port,
    timeScale: options.timeScale,
    dataDir: options.dataDir,
    iam: options.iam ?? true,
    awslogsIntervalMs: options.awslogsIntervalMs,
  });
  try {
    local.faults.add(faults);
    const stack = await deployTemplate(local, template);
    const stateMachineArn = stack.stateMachineArn;
    out.write(
      [
        `Local AWS listening on ${local.endpoint} (time scale ${options.timeScale}, awslogs batches every ${options.awslogsIntervalMs ?? AWSLOGS_DEFAULT_INTERVAL_MS} ms before scaling, data in ${local.dataDir}, IAM ${local.authorizer.enabled ? 'enforced' : 'off'})`,
        `State machine: ${stateMachineArn}`,
        '',
        'Start a release:',
        `  AWS_ENDPOINT_URL=${local.endpoint} AWS_REGION=${stack.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\`,
        `    aws stepfunctions start-execution --state-machine-arn ${stateMachineArn} \\`,
        `    --name r1 --input '{"release":"r1","images":{"app":"stepdeploy-demo/app:r1"}}'`,
        `Inject a fault: curl -X POST ${local.endpoint}/_local/faults -d '{"kind":"deployment-failure","environment":"eu","service":"web","lifecycleEvent":"AfterAllowTraffic"}'`,
        `What IAM allowed and denied, per principal: curl ${local.endpoint}/_local/iam`,
        'Ctrl+C stops the local AWS and every task process.',
        '',
      ].join('\n'),
    );
    return { local, stack };
  } catch (error) {
    await local.stop();
    throw error;
  }
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('Pass a positive number.');
  return parsed;
}

function onOff(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('Pass on or off.');
  return value === 'on';
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError('Pass a port number from 0 (any free port) to 65535.');
  }
  return parsed;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('local')
    .description(
      'Run the local AWS (ECS, CodeDeploy, CloudWatch Logs, Step Functions, EventBridge) with the sample stack deployed.',
    )
    .option('--port <port>', 'TCP port on 127.0.0.1 (0 picks a free one)', port, 4566)
    .option(
      '--time-scale <factor>',
      'how many times faster than real time every wait runs (env STEPDEPLOY_TIME_SCALE)',
      positiveNumber,
      Number(process.env.STEPDEPLOY_TIME_SCALE ?? '') || 60,
    )
    .option(
      '--data-dir <dir>',
      'where task processes keep their databases (default: a new temporary directory)',
    )
    .option(
      '--awslogs-interval-ms <ms>',
      'milliseconds between two batches of the awslogs driver, before the time scale (AWS: 5000)',
      positiveNumber,
      AWSLOGS_DEFAULT_INTERVAL_MS,
    )
    .option(
      '--fault <json>',
      'a fault in force from the start, e.g. \'{"kind":"task-exit","environment":"eu","step":"migrate","exitCode":1}\' (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--iam <on|off>',
      "evaluate every call of a role session (the handlers, sts assume-role sessions) against the role's policies",
      onOff,
      true,
    )
    .addHelpText('after', '\nExample:\n  npm run local -- --port 4566 --time-scale 120\n');
  program.parse(argv);
  const flags = program.opts<{
    port: number;
    timeScale: number;
    dataDir?: string;
    fault: string[];
    iam: boolean;
    awslogsIntervalMs: number;
  }>();

  // Listening before the (slow) start: a signal during it stops everything once it is up.
  const stopRequested = new Promise<void>((resolve) => {
    // Ctrl+C reaches both tsx and this process, which tsx then signals again: a second
    // signal must not kill us while the task processes are being stopped.
    let stopping = false;
    const onSignal = () => {
      if (!stopping) resolve();
      stopping = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const { local } = await startLocal(
    {
      port: flags.port,
      timeScale: flags.timeScale,
      dataDir: flags.dataDir,
      faults: flags.fault,
      iam: flags.iam,
      awslogsIntervalMs: flags.awslogsIntervalMs,
    },
    process.stdout,
  );
  await stopRequested;
  process.stdout.write('Stopping the local AWS and its task processes...\n');
  await local.stop();
  // Handler modules ran in this process; their SDK clients may keep sockets open.
  process.exit(0);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`npm run local: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
