// `npm run demo`: a whole release of the sample app to us, eu and au, run by the real
// state machine on a local AWS started for the occasion, followed live, in seconds.
import '../../local/polyfills.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import Database from 'better-sqlite3';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { OutputStream } from '../../cli/render.js';
import { main as tailDeploy } from '../../cli/tail-deploy.js';
import { SAMPLE_WAVES, sampleAlarmName } from '../../infra/sample-stack.js';
import type { Fault } from '../../local/faults.js';
import {
  DEMO_ENVIRONMENTS,
  DEMO_SERVICES,
  deploymentsOf,
  iamDenials,
  iamReport,
  movedProductionTraffic,
  releaseDeployment,
  releaseNameAt,
  type SampleAws,
  setMigrationDelay,
  startRelease,
  startSampleAws,
  waitForExecutionEnd,
  waitForState,
} from './sample-aws.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the demo writes; `run-demo.ts` never prints to the console directly. */
export interface DemoIo {
  stdout: OutputStream;
  stderr: OutputStream;
}

/** The demo's options, one per flag. */
export interface DemoOptions {
  /** Environment whose migration exits 1. */
  failMigration?: string;
  /** Environment whose migration task fails to start. */
  failStart?: string;
  /** `env/service` whose deployment fails. */
  failDeploy?: string;
  /** `env/service` whose deployment never becomes healthy. */
  hangDeploy?: string;
  /** Phase during which the demo calls StopExecution. */
  abortDuring?: 'migrate' | 'deploy';
  /** Put the canary's (us) alarm in ALARM during its bake. */
  alarm: boolean;
  /** Seconds (real time) the demo waits for a run before it calls StopExecution. */
  giveUp: number;
  /** How many times faster than real time the local AWS and the handlers wait. */
  timeScale: number;
  /** Milliseconds each migration step takes (set on the one-off task definitions). */
  migrationDelay?: number;
  /** Leave the local AWS running afterwards. */
  keep: boolean;
  /** Port of the local AWS; 0 picks a free one. */
  port: number;
}

/** Exit codes, as tail-deploy has them: 0 released, 1 failed or rolled back, 2 aborted or timed out. */
export function exitCodeOf(status: string | undefined): number {
  if (status === 'SUCCEEDED') return 0;
  if (status === 'ABORTED' || status === 'TIMED_OUT') return 2;
  return 1;
}

const environmentArg = (value: string): string => {
  if (!(DEMO_ENVIRONMENTS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `"${value}" is not an environment of the demo; use one of ${DEMO_ENVIRONMENTS.join(', ')}.`,
    );
  }
  return value;
};

const groupArg = (value: string): string => {
  const [environment, service, extra] = value.split('/');
  if (
    extra !== undefined ||
    !(DEMO_ENVIRONMENTS as readonly string[]).includes(environment ?? '') ||
    !(DEMO_SERVICES as readonly string[]).includes(service ?? '')
  ) {
    throw new InvalidArgumentError(
      `"${value}" is not <environment>/<service> of the demo; e.g. eu/web (environments ${DEMO_ENVIRONMENTS.join(', ')}, services ${DEMO_SERVICES.join(', ')}).`,
    );
  }
  return value;
};

const positiveNumber = (value: string): number => {
  const parsed = Number(value);
  if (!(parsed > 0) || !Number.isFinite(parsed))
    throw new InvalidArgumentError(`"${value}" is not a positive number.`);
  return parsed;
};

/** The command line of the demo. */
export function demoCommand(): Command {
  return new Command('npm run demo --')
    .description('Runs a release of the sample app to us, eu and au on a local AWS and follows it live.')
    .option('--fail-migration <env>', "make that environment's migration exit 1", environmentArg)
    .option('--fail-start <env>', "make that environment's migration task fail to start", environmentArg)
    .option('--fail-deploy <env/service>', 'make that deployment fail (at AfterInstall)', groupArg)
    .option('--hang-deploy <env/service>', 'make that deployment never become healthy', groupArg)
    .addOption(
      new Option('--abort-during <phase>', 'call StopExecution while that phase runs').choices([
        'migrate',
        'deploy',
      ]),
    )
    .option('--alarm', "put the canary's (us) alarm in ALARM during its bake, as CloudWatch would", false)
    .option(
      '--give-up <seconds>',
      'call StopExecution when the run has not ended after that many seconds (as an operator would)',
      positiveNumber,
      60,
    )
    .option(
      '--time-scale <n>',
      'how many times faster than real time every wait runs',
      positiveNumber,
      Number(process.env.STEPDEPLOY_TIME_SCALE ?? '') || 20,
    )
    .option('--migration-delay <ms>', 'milliseconds each migration step takes', positiveNumber)
    .option('--keep', 'leave the local AWS running afterwards, with AWS CLI examples', false)
    .option('--port <port>', 'port of the local AWS (0 picks a free one)', (value) => Number(value), 0)
    .showHelpAfterError();
}

/**
 * Milliseconds each migration step takes: failures and aborts only show something while
 * the siblings are still at work.
 */
export function migrationDelayOf(options: DemoOptions): number | undefined {
  if (options.migrationDelay !== undefined) return options.migrationDelay;
  return options.failMigration || options.failStart || options.abortDuring === 'migrate' ? 1500 : undefined;
}

/** The faults that produce the failures the options ask for. */
export function faultsOf(options: DemoOptions): Fault[] {
  const faults: Fault[] = [];
  if (options.failMigration) {
    // Fault delays are scaled, migration steps are not: this lands in the middle of the
    // third step, after two migrations were applied, while the siblings are still at work.
    const realMs = 2.5 * (migrationDelayOf(options) ?? 0);
    faults.push({
      kind: 'task-exit',
      environment: options.failMigration,
      step: 'migrate',
      exitCode: 1,
      afterMs: realMs * options.timeScale,
    });
  }
  if (options.failStart) {
    faults.push({
      kind: 'task-start-failure',
      environment: options.failStart,
      step: 'migrate',
      reason:
        'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found (injected)',
    });
  }
  const group = (value: string) => {
    const [environment, service] = value.split('/') as [string, string];
    return { environment, service };
  };
  if (options.failDeploy) {
    faults.push({ kind: 'deployment-failure', ...group(options.failDeploy), lifecycleEvent: 'AfterInstall' });
  }
  if (options.hangDeploy) faults.push({ kind: 'deployment-hang', ...group(options.hangDeploy) });
  return faults;
}

/** Calls StopExecution as an operator would, once `when` resolves, if the run still runs then. */
function abortWhen(
  aws: SampleAws,
  executionArn: string,
  when: Promise<unknown>,
  cause: string,
  io: DemoIo,
): void {
  void when
    .then(async () => {
      const { status } = await aws.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (status !== 'RUNNING') return;
      io.stdout.write(`\n>>> StopExecution: ${cause}\n\n`);
      await aws.clients.sfn.send(new StopExecutionCommand({ executionArn, error: 'DemoAbort', cause }));
    })
    .catch(() => {
      // The run ended first: nothing to stop.
    });
}

/**
 * Once the canary wave bakes, puts its alarm in ALARM as CloudWatch would on its 5xx answers
 * (SetAlarmState, what `aws cloudwatch set-alarm-state` sends): the bake fails the wave.
 */
function alarmDuringBake(aws: SampleAws, executionArn: string, io: DemoIo): void {
  const alarmName = sampleAlarmName('us');
  void waitForState(aws.clients.sfn, executionArn, 'Bake', 120_000)
    .then(async () => {
      io.stdout.write(
        `\n>>> aws cloudwatch set-alarm-state --alarm-name ${alarmName} --state-value ALARM --state-reason 'us answers 5xx'\n\n`,
      );
      await aws.clients.cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: alarmName,
          StateValue: 'ALARM',
          StateReason: 'us answers 5xx',
        }),
      );
    })
    .catch(() => {
      // The run ended before any bake: there is nothing to alarm.
    });
}

/** Resolves once the cleanup ran and left no deployment of the demo in flight (bounded). */
async function waitForQuiet(aws: SampleAws): Promise<void> {
  await aws.local.events.settle();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const groups = await Promise.all(
      DEMO_ENVIRONMENTS.flatMap((environment) =>
        DEMO_SERVICES.map((service) => deploymentsOf(aws.clients.codedeploy, environment, service)),
      ),
    );
    const inFlight = groups
      .flat()
      .some((d) => ['Created', 'Queued', 'InProgress', 'Ready'].includes(d.status ?? ''));
    if (!inFlight) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What each environment's database says after the run. */
function describeDatabases(dataDir: string, io: DemoIo): void {
  io.stdout.write(`\nDatabases (SQLite, one per environment) in ${dataDir}:\n`);
  for (const environment of DEMO_ENVIRONMENTS) {
    const file = path.join(dataDir, `${environment}.sqlite`);
    let summary = 'not created (no migration ran)';
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const migrations = db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get();
        const hasReleases =
          db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'releases'").get() !==
          undefined;
        const tagged = hasReleases
          ? db.prepare('SELECT release FROM releases ORDER BY tagged_at DESC, rowid DESC').pluck().get()
          : undefined;
        summary = `${migrations} migrations applied; last tagged release: ${tagged ?? 'none'}`;
      } finally {
        db.close();
      }
    } catch {
      // A missing file is the expected state of an environment whose migration never ran.
    }
    io.stdout.write(`  ${environment}: ${file}\n      ${summary}\n`);
  }
}

/** Per group, whether the release's deployment moved production traffic (by wave). */
async function describeTraffic(aws: SampleAws, release: string, io: DemoIo): Promise<void> {
  io.stdout.write(
    `\nProduction traffic moved by ${release} (us is wave 0; eu and au, wave 1, cut over together):\n`,
  );
  for (const environment of DEMO_ENVIRONMENTS) {
    for (const service of DEMO_SERVICES) {
      const ours = await releaseDeployment(aws.clients.codedeploy, release, environment, service);
      const moved = ours ? await movedProductionTraffic(aws.clients.codedeploy, ours.deploymentId) : false;
      const what = ours ? (moved ? 'yes' : 'no') : 'no (not deployed)';
      io.stdout.write(
        `  ${`${environment}/${service}`.padEnd(10)} wave ${SAMPLE_WAVES[environment]}  ${what}\n`,
      );
    }
  }
}

/** The latest deployment of every group, after the run. */
async function describeDeployments(aws: SampleAws, io: DemoIo): Promise<void> {
  io.stdout.write('\nDeployment groups (latest deployment):\n');
  let waiting = false;
  for (const environment of DEMO_ENVIRONMENTS) {
    for (const service of DEMO_SERVICES) {
      const [latest] = await deploymentsOf(aws.clients.codedeploy, environment, service);
      const what = latest?.rollbackOf ? `rollback of ${latest.rollbackOf}` : (latest?.description ?? '');
      const line = latest ? `${latest.deploymentId} ${latest.status} ${what}` : 'no deployment';
      io.stdout.write(`  ${`${environment}/${service}`.padEnd(10)} ${line}\n`);
      waiting ||= latest?.status === 'InProgress' && !latest.rollbackOf;
    }
  }
  if (waiting) {
    io.stdout.write(
      '  (InProgress: traffic is on the new tasks; CodeDeploy keeps the original ones for the\n' +
        "   group's termination wait. RetireOldWorkers ends it early for worker services.)\n",
    );
  }
}

/** One handler's log group and how many lines it holds. */
export interface HandlerLogGroup {
  verb: string;
  group: string;
  lines: number;
}

/** The handlers' log groups of the sample stack, with how many lines each holds so far. */
function handlerLogGroups(aws: SampleAws): HandlerLogGroup[] {
  return aws.local.lambdas.list().flatMap((fn) => {
    const group = fn.logging?.logGroup ?? `/aws/lambda/${fn.functionName}`;
    const streams = aws.local.logs.findGroup(fn.region, group)?.streams.values() ?? [];
    const lines = [...streams].reduce((sum, stream) => sum + stream.events.length, 0);
    return [{ verb: fn.verb, group, lines }];
  });
}

/**
 * Where the handlers' logs are and the command that reads one: a group per function, the
 * ones that ran listed with their line count, read with `aws logs tail` while the local
 * AWS runs (`--keep`).
 */
export function handlerLogsHelp(endpoint: string, groups: readonly HandlerLogGroup[], keep: boolean): string {
  const ran = groups.filter((group) => group.lines > 0);
  if (ran.length === 0) return '';
  const width = Math.max(...ran.map((group) => group.verb.length));
  const example = ran.find((group) => group.verb === 'roll-back') ?? ran[0];
  return [
    '',
    "Handler logs (CloudWatch Logs, one group per function, JSON lines; Lambda's START and REPORT among them):",
    ...ran.map((group) => `  ${group.verb.padEnd(width)}  ${group.group}  (${group.lines} lines)`),
    keep ? 'Read one:' : 'Read one while the local AWS runs (npm run demo -- --keep):',
    `  aws --endpoint-url ${endpoint} logs tail ${example.group} --since 1h`,
    '',
  ].join('\n');
}

function keepHelp(aws: SampleAws, executionArn: string): string {
  return [
    '',
    `The local AWS keeps running at ${aws.endpoint} (Ctrl-C stops it). Try:`,
    '',
    `  export AWS_ENDPOINT_URL=${aws.endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1`,
    `  aws stepfunctions describe-execution --execution-arn ${executionArn}`,
    `  aws stepfunctions get-execution-history --execution-arn ${executionArn} --max-items 20`,
    '  aws ecs list-tasks --cluster stepdeploy-demo-eu',
    '  aws deploy list-deployments --application-name stepdeploy-demo-eu --deployment-group-name stepdeploy-demo-eu-web',
    '  aws logs describe-log-streams --log-group-name /stepdeploy-demo/eu',
    `  aws logs tail /stepdeploy/${aws.stateMachineArn.split(':').pop()}/plan --since 1h`,
    `  aws stepfunctions start-execution --state-machine-arn ${aws.stateMachineArn} --name again-1 --input '{"release":"again-1","images":{"app":"stepdeploy-demo/app:again-1"}}'`,
    `  node bin/tail-deploy.js --state-machine ${aws.stateMachineArn} --release again-1`,
    `  curl -X POST ${aws.endpoint}/_local/faults -d '{"kind":"task-exit","environment":"au","step":"migrate","exitCode":1}'`,
    '',
  ].join('\n');
}

/** Runs the demo; resolves with the exit code (the run's outcome). */
export async function runDemo(argv: string[], io: DemoIo): Promise<number> {
  const command = demoCommand()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 64;
  }
  const options = command.opts<DemoOptions>();
  const started = Date.now();
  const release = releaseNameAt(new Date());
  const dataDir = path.join(REPO_ROOT, '.local-aws', release);
  mkdirSync(dataDir, { recursive: true });
  process.env.STEPDEPLOY_TIME_SCALE = String(options.timeScale);
  // Node 20 is what this machine runs (the Lambdas target Node 22 in AWS): the SDK's notice
  // about it would be the first thing the demo prints.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  io.stdout.write(
    `Starting a local AWS (time scale ${options.timeScale}) and deploying the sample stack...\n`,
  );
  const aws = await startSampleAws({ timeScale: options.timeScale, dataDir, port: options.port });
  const interrupted = () => {
    io.stderr.write('\nInterrupted: stopping the local AWS and every task.\n');
    void aws.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    io.stdout.write(`Local AWS at ${aws.endpoint}; state machine ${aws.stateMachineArn}\n`);
    const faults = faultsOf(options);
    if (faults.length > 0) {
      aws.local.faults.add(faults);
      for (const fault of faults) io.stdout.write(`Fault injected: ${JSON.stringify(fault)}\n`);
    }
    const delayMs = migrationDelayOf(options);
    if (delayMs !== undefined) {
      for (const environment of DEMO_ENVIRONMENTS)
        await setMigrationDelay(aws.clients.ecs, environment, delayMs);
      io.stdout.write(
        `Each migration step takes ${delayMs} ms (MIGRATION_DELAY_MS on the one-off task definitions)\n`,
      );
    }

    const executionArn = await startRelease(aws, release);
    io.stdout.write(`\nRelease ${release}: StartExecution ${executionArn}\n\n`);
    if (options.abortDuring) {
      const state = options.abortDuring === 'migrate' ? 'CheckMigrate' : 'CheckDeploy';
      abortWhen(
        aws,
        executionArn,
        waitForState(aws.clients.sfn, executionArn, state, 120_000),
        `the demo was asked to abort during ${options.abortDuring}`,
        io,
      );
    }
    if (options.alarm) alarmDuringBake(aws, executionArn, io);
    abortWhen(
      aws,
      executionArn,
      new Promise((resolve) => setTimeout(resolve, options.giveUp * 1000).unref()),
      `the run did not end within ${options.giveUp} s`,
      io,
    );

    // Followed exactly as a release in AWS would be: tail-deploy against the endpoint.
    await tailDeploy([executionArn, '--endpoint-url', aws.endpoint, '--poll-interval', '250'], {
      stdout: io.stdout,
      stderr: io.stderr,
      // Ctrl-C is the demo's own: it stops the local AWS.
      interrupts: () => () => {},
    });
    const end = await waitForExecutionEnd(aws.clients.sfn, executionArn);
    if (end.status !== 'SUCCEEDED') {
      // The cleanup Lambda runs on the execution's status change: let it finish its rollbacks.
      await waitForQuiet(aws);
    }
    await describeTraffic(aws, release, io);
    await describeDeployments(aws, io);
    describeDatabases(dataDir, io);
    // The handlers ran as their roles: any call their policies did not allow fails the demo.
    const denied = await iamDenials(aws.endpoint);
    const report = await iamReport(aws.endpoint);
    const allowed = Object.values(report.principals).reduce((sum, principal) => sum + principal.allowed, 0);
    if (denied.length === 0) {
      io.stdout.write(
        `\nIAM: ${allowed} calls allowed, none denied (${Object.keys(report.principals).length} principals)\n`,
      );
    } else {
      io.stderr.write(
        `\nIAM denied ${denied.length} call(s):\n${denied.map((line) => `  ${line}`).join('\n')}\n`,
      );
    }
    io.stdout.write(handlerLogsHelp(aws.endpoint, handlerLogGroups(aws), options.keep));
    const code = denied.length > 0 && exitCodeOf(end.status) === 0 ? 1 : exitCodeOf(end.status);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.stdout.write(`\nRelease ${release} ${end.status} in ${seconds} s (exit code ${code})\n`);

    if (options.keep) {
      io.stdout.write(keepHelp(aws, executionArn));
      await new Promise<void>((resolve) => {
        process.off('SIGINT', interrupted);
        process.once('SIGINT', () => resolve());
      });
    }
    return code;
  } finally {
    process.off('SIGINT', interrupted);
    await aws.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runDemo(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `The demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(3);
    },
  );
}
