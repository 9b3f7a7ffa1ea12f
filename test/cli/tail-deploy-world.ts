import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { main } from '../../cli/tail-deploy.js';
import { LocalAws } from '../../local/local-aws.js';

/** The folder whose `lambdas/<verb>/handler.ts` the local AWS runs for these tests. */
export const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');

/** The three environments of the runs, each in its own Region. */
export const ENVIRONMENTS = [
  { name: 'us', region: 'us-east-1' },
  { name: 'eu', region: 'eu-west-1' },
  { name: 'au', region: 'ap-southeast-2' },
] as const;

const ACCOUNT = '000000000000';
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** A task the run starts: its environment, step name and shell-free command. */
export interface PlannedTask {
  environment: string;
  region: string;
  step: string;
  command: string[];
}

/** A node one-liner as a container command. */
export const nodeCommand = (script: string): string[] => [process.execPath, '-e', script];

/** A command printing `count` lines `<label> line <i>`, `perTick` at a time every `tickMs`, then exiting `exitCode`. */
export function printLines(
  label: string,
  count: number,
  options: { perTick?: number; tickMs?: number; exitCode?: number } = {},
) {
  const perTick = options.perTick ?? count;
  const tickMs = options.tickMs ?? 0;
  return nodeCommand(
    `let i=0;const tick=()=>{for(let n=0;n<${perTick}&&i<${count};n++,i++)console.log(${JSON.stringify(label)}+' line '+i);` +
      `if(i<${count})setTimeout(tick,${tickMs});else process.exitCode=${options.exitCode ?? 0};};tick();`,
  );
}

/** Writes of a stream, kept as text and split into lines. */
export class Capture {
  text = '';
  isTTY = false;
  private readonly watchers: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];

  write(chunk: string): boolean {
    this.text += chunk;
    for (const line of chunk.split('\n')) {
      for (const watcher of [...this.watchers]) {
        if (watcher.test(line)) {
          this.watchers.splice(this.watchers.indexOf(watcher), 1);
          watcher.resolve(line);
        }
      }
    }
    return true;
  }

  get lines(): string[] {
    return this.text.split('\n').filter((line) => line.length > 0);
  }

  /** Resolves with the first line (from now on) that passes `test`. */
  waitFor(test: (line: string) => boolean): Promise<string> {
    return new Promise((resolve) => this.watchers.push({ test, resolve }));
  }
}

/**
 * A local AWS with a cluster and a `one-off` task definition per environment and a state
 * machine Migrate → AwaitMigrate → Announce → Succeed/Fail whose Lambda tasks run the
 * fixture handlers: enough of a release for tail-deploy to follow, with real task processes.
 */
export class World {
  private constructor(
    readonly local: LocalAws,
    readonly stateMachineArn: string,
  ) {}

  static async start(): Promise<World> {
    // The awslogs driver publishes every 200 ms here rather than AWS's 5 s: the tests wait for lines.
    // IAM is off: this world's state machine and fixture handlers have no template roles (the
    // permissions tail-deploy needs are pinned in test/e2e/iam.test.ts against the sample stack).
    const local = await LocalAws.start({
      port: 0,
      timeScale: 1,
      repoRoot: FIXTURES,
      awslogsIntervalMs: 200,
      iam: false,
    });
    for (const env of ENVIRONMENTS) {
      const ecs = new ECSClient({ endpoint: local.endpoint, region: env.region, credentials });
      await ecs.send(new CreateClusterCommand({ clusterName: env.name }));
      // As a deployment creates it: the awslogs driver does not.
      local.logs.createLogGroup(env.region, `/one-off/${env.name}`);
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'one-off',
          containerDefinitions: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              command: nodeCommand('0'),
              environment: [{ name: 'APP_ENV', value: env.name }],
              stopTimeout: 2,
              logConfiguration: {
                logDriver: 'awslogs',
                options: {
                  'awslogs-group': `/one-off/${env.name}`,
                  'awslogs-stream-prefix': 'run',
                  'awslogs-region': env.region,
                },
              },
            },
          ],
        }),
      );
      ecs.destroy();
    }
    const arnOf = (verb: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:tail-${verb}`;
    for (const verb of ['run-tasks', 'wait-tasks', 'announce']) {
      local.lambdas.register({
        region: 'us-east-1',
        functionName: `tail-${verb}`,
        arn: arnOf(verb),
        verb,
        environment: {},
        timeoutSeconds: 900,
      });
    }
    const world = new World(local, '');
    return new World(local, await world.createStateMachine('Deploy'));
  }

  /** Creates another state machine of the same flow; `timeoutSeconds` bounds its executions. */
  async createStateMachine(name: string, timeoutSeconds?: number): Promise<string> {
    const arnOf = (verb: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:tail-${verb}`;
    const definition = {
      StartAt: 'Migrate',
      ...(timeoutSeconds ? { TimeoutSeconds: timeoutSeconds } : {}),
      States: {
        Migrate: {
          Type: 'Task',
          Resource: arnOf('run-tasks'),
          Parameters: { phase: 'migrate', 'tasks.$': '$.tasks' },
          ResultPath: '$.migrate',
          Next: 'AwaitMigrate',
        },
        AwaitMigrate: {
          Type: 'Task',
          Resource: arnOf('wait-tasks'),
          Parameters: { 'state.$': '$.migrate' },
          ResultPath: '$.migrate',
          Next: 'Announce',
        },
        Announce: {
          Type: 'Task',
          Resource: arnOf('announce'),
          Parameters: { 'state.$': '$' },
          ResultPath: '$.announce',
          Next: 'Outcome',
        },
        Outcome: {
          Type: 'Choice',
          Choices: [{ Variable: '$.announce.outcome', StringEquals: 'SUCCEEDED', Next: 'Released' }],
          Default: 'NotReleased',
        },
        Released: { Type: 'Succeed' },
        NotReleased: { Type: 'Fail', Error: 'TaskFailedError', Cause: 'a migration failed' },
      },
    };
    const created = await this.sfn.send(
      new CreateStateMachineCommand({
        name,
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/deploy`,
      }),
    );
    return created.stateMachineArn as string;
  }

  get sfn(): SFNClient {
    return new SFNClient(clientConfig(this.local));
  }

  /** Starts a run of `tasks` named `release`; returns its execution ARN. */
  async startRun(
    release: string,
    tasks: PlannedTask[],
    stateMachineArn = this.stateMachineArn,
  ): Promise<string> {
    const started = await this.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: release.replaceAll('.', '-'),
        input: JSON.stringify({ release, tasks }),
      }),
    );
    return started.executionArn as string;
  }

  /** Runs `tail-deploy` through `main` with this local AWS as endpoint. */
  async tail(
    args: string[],
    options: { stdout?: Capture; stderr?: Capture; interrupts?: (listener: () => void) => () => void } = {},
  ) {
    const stdout = options.stdout ?? new Capture();
    const stderr = options.stderr ?? new Capture();
    const exitCode = await main([...args, '--endpoint-url', this.local.endpoint, '--poll-interval', '200'], {
      stdout,
      stderr,
      env: {},
      interrupts: options.interrupts ?? (() => () => undefined),
    });
    return { exitCode, stdout, stderr };
  }

  /** Sends a fault to the local AWS's control path, as an operator would. */
  async fault(body: unknown): Promise<void> {
    const response = await fetch(`${this.local.endpoint}/_local/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`POST /_local/faults answered ${response.status}: ${await response.text()}`);
  }

  /** Clears every fault through the control path. */
  async clearFaults(): Promise<void> {
    const response = await fetch(`${this.local.endpoint}/_local/faults`, { method: 'DELETE' });
    if (!response.ok) throw new Error(`DELETE /_local/faults answered ${response.status}`);
  }

  stop(): Promise<void> {
    return this.local.stop();
  }
}

/** SDK client settings pointing at `local` with dummy credentials. */
export function clientConfig(local: LocalAws, region = 'us-east-1') {
  return { endpoint: local.endpoint, region, credentials };
}

/** What a command run by {@link runBin} printed, and its exit code. */
export interface BinRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the package's bins (`bin/<name>.js`) as a user's shell would: with the user's
 * environment (the SDK's Node version warning not switched off beforehand) plus `env`, or, with
 * `inherit: false`, with `env` alone. `onStdout` sees the output so far after each chunk, with the
 * child to signal.
 */
export function runBin(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onStdout?: (text: string, child: ChildProcess) => void,
  { inherit = true }: { inherit?: boolean } = {},
): Promise<BinRun> {
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _switch, ...userEnv } = process.env;
  const child = spawn(process.execPath, [bin, ...args], {
    env: inherit ? { ...userEnv, ...env } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, child);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<BinRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
