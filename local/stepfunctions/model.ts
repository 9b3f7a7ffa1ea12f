import '../polyfills.js';
import { createHash, randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import type { BusEvent } from '../events/events-model.js';
import type { Faults } from '../faults.js';
import { offsetPage } from '../page-token.js';
import { ACCOUNT_ID } from '../server.js';
import { engineDefinition } from './engine-definition.js';
import { type EngineEvent, ExecutionHistory, historyEventOnWire, jsonText } from './history.js';
import { type LambdaFunctions, LambdaInvocationError } from './lambda-functions.js';

/** Execution statuses Step Functions reports. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

const STATUSES: ReadonlySet<string> = new Set([
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
]);

type Overrides = NonNullable<RunOptions['overrides']>;
type JsonValue = Parameters<StateMachine['run']>[0];
type States = StateMachineDefinition['States'];
type AnyState = States[string];

interface StateMachineRecord {
  region: string;
  arn: string;
  name: string;
  definition: string;
  parsed: StateMachineDefinition;
  engine: StateMachine;
  roleArn: string;
  type: 'STANDARD' | 'EXPRESS';
  creationMs: number;
}

interface Execution {
  arn: string;
  name: string;
  machine: StateMachineRecord;
  input: string;
  status: ExecutionStatus;
  startMs: number;
  stopMs?: number;
  output?: string;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
  /** Lambda invocations in flight, per Task state: a state timeout ends their history first. */
  invocations: Map<string, Invocation>;
  /** Which run of the engine is the execution's: the first, or a redrive. A late event of an earlier run is dropped. */
  attempt: number;
  redriveCount: number;
  redriveMs?: number;
  /** Client tokens of the last successful redrives, so a repeated request redrives once. */
  redriveTokens: Array<{ token: string; redriveMs: number }>;
  abort: () => void;
  done: Promise<void>;
}

/** A Lambda invocation of a Task state, and the history events it records. */
interface Invocation {
  settled: boolean;
  events: InvocationEvents;
}

/**
 * How a Lambda task's history reads: a function-ARN resource records `LambdaFunction*` events
 * with the result itself; the `lambda:invoke` integration records `Task*` events (resource type
 * `lambda`, resource `invoke`) with the Invoke response.
 */
interface InvocationEvents {
  scheduled(reference: string, payload: unknown, timeoutInSeconds: number | undefined): HistoryDetails;
  started(): HistoryDetails;
  succeeded(output: unknown): HistoryDetails;
  failed(error: string, cause: string): HistoryDetails;
  timedOut(error: string, cause: string): HistoryDetails;
}

type HistoryDetails = [string, Record<string, Record<string, unknown>>?];

const FUNCTION_EVENTS: InvocationEvents = {
  scheduled: (resource, payload, timeoutInSeconds) => [
    'LambdaFunctionScheduled',
    {
      lambdaFunctionScheduledEventDetails: {
        resource,
        input: jsonText(payload),
        inputDetails: { truncated: false },
        timeoutInSeconds,
      },
    },
  ],
  started: () => ['LambdaFunctionStarted'],
  succeeded: (output) => [
    'LambdaFunctionSucceeded',
    {
      lambdaFunctionSucceededEventDetails: { output: jsonText(output), outputDetails: { truncated: false } },
    },
  ],
  failed: (error, cause) => ['LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } }],
  timedOut: (error, cause) => [
    'LambdaFunctionTimedOut',
    { lambdaFunctionTimedOutEventDetails: { error, cause } },
  ],
};

function integrationEvents(region: string, parameters: unknown): InvocationEvents {
  const task = { resourceType: 'lambda', resource: 'invoke' };
  return {
    scheduled: (_reference, _payload, timeoutInSeconds) => [
      'TaskScheduled',
      { taskScheduledEventDetails: { ...task, region, parameters: jsonText(parameters), timeoutInSeconds } },
    ],
    started: () => ['TaskStarted', { taskStartedEventDetails: task }],
    succeeded: (output) => [
      'TaskSucceeded',
      {
        taskSucceededEventDetails: { ...task, output: jsonText(output), outputDetails: { truncated: false } },
      },
    ],
    failed: (error, cause) => ['TaskFailed', { taskFailedEventDetails: { ...task, error, cause } }],
    timedOut: (error, cause) => ['TaskTimedOut', { taskTimedOutEventDetails: { ...task, error, cause } }],
  };
}

/** Dependencies of the Step Functions model. */
export interface StepFunctionsDeps {
  lambdas: LambdaFunctions;
  clock: LocalClock;
  /** Where execution status changes go (EventBridge), so rules on them fire. */
  events: { emit(event: BusEvent): unknown };
  /** The `describe-lag` fault makes DescribeExecution lag behind an execution's end. */
  faults: Pick<Faults, 'lagging'>;
}

const NAME_CHARACTERS = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;

/** Step Functions names: 1-80 characters, no whitespace, brackets, wildcards, punctuation or control characters. */
const NAME = {
  test: (name: string) =>
    NAME_CHARACTERS.test(name) &&
    [...name].every((c) => c.charCodeAt(0) >= 0x20 && (c.charCodeAt(0) < 0x7f || c.charCodeAt(0) > 0x9f)),
};

function pageSize(maxResults: number | undefined): number {
  if (maxResults === undefined || maxResults === 0) return 100;
  if (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 1000) {
    throw new AwsError('ValidationException', `maxResults ${maxResults} is invalid; pass 1 to 1000.`);
  }
  return maxResults;
}

function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined) {
  return offsetPage(items, pageSize(maxResults), nextToken, 'InvalidToken');
}

/** Every state of a definition, nested ones (Parallel branches, Map processors) included. */
function allStates(states: States): Array<[string, AnyState]> {
  return Object.entries(states).flatMap(([name, state]): Array<[string, AnyState]> => {
    const nested: Array<[string, AnyState]> = [];
    if (state.Type === 'Parallel')
      for (const branch of state.Branches) nested.push(...allStates(branch.States));
    if (state.Type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (processor) nested.push(...allStates(processor.States));
    }
    return [[name, state], ...nested];
  });
}

/** How long after it ended an execution may be redriven (scaled, like every wait). */
const REDRIVE_PERIOD_MS = 14 * 24 * 3600 * 1000;

/** A history this long can take no redrive. */
const MAX_HISTORY_EVENTS = 25_000;

/** RedriveExecution answers the same redrive to the last 10 client tokens. */
const REDRIVE_TOKENS_KEPT = 10;

/** Step Functions passes at most 256 KB between states. */
const MAX_PAYLOAD_BYTES = 256 * 1024;

const LAMBDA_ARN = /^arn:aws:lambda:[^:]+:[^:]+:function:[^:]+(:[^:]+)?$/;
const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke$/;

/**
 * The session name Step Functions takes its role under for an execution: 32 letters
 * (arn:aws:sts::<account>:assumed-role/<role>/GGzJDbzYyvarbIioekwoULLKpGuSfJRc, as in
 * https://github.com/awslabs/aws-deployment-framework/issues/460).
 */
function roleSessionNameOf(executionArn: string): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...createHash('sha256').update(executionArn).digest()]
    .slice(0, 32)
    .map((byte) => letters[byte % letters.length])
    .join('');
}

/**
 * Step Functions of the local AWS: state machines run by aws-local-stepfunctions, every
 * Lambda task dispatched in process, with AWS's execution history and status change events.
 */
export class StepFunctionsModel {
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, Execution>();
  private shuttingDown = false;

  constructor(private readonly deps: StepFunctionsDeps) {}

  /** CreateStateMachine: the definition must be valid ASL. */
  createStateMachine(
    region: string,
    input: { name?: string; definition?: string; roleArn?: string; type?: string },
  ): { stateMachineArn: string; creationDate: number } {
    const name = input.name ?? '';
    if (!NAME.test(name)) {
      throw new AwsError(
        'InvalidName',
        `State machine name "${name}" is invalid: use 1-80 characters without spaces or special characters.`,
      );
    }
    const arn = `arn:aws:states:${region}:${ACCOUNT_ID}:stateMachine:${name}`;
    if (this.machines.has(arn)) {
      throw new AwsError('StateMachineAlreadyExists', `State machine ${arn} already exists.`);
    }
    let parsed: StateMachineDefinition;
    let engine: StateMachine;
    try {
      parsed = JSON.parse(input.definition ?? '') as StateMachineDefinition;
      // Validated as given; run as the engine needs it (scaled waits may be fractional).
      new StateMachine(parsed, { validationOptions: { checkArn: false, checkPaths: false } });
      engine = new StateMachine(this.scaled(parsed), { validationOptions: { noValidate: true } });
    } catch (error) {
      throw new AwsError(
        'InvalidDefinition',
        `The definition of state machine ${name} is invalid: ${(error as Error).message}`,
      );
    }
    const record: StateMachineRecord = {
      region,
      arn,
      name,
      definition: input.definition ?? '',
      parsed,
      engine,
      roleArn: input.roleArn ?? `arn:aws:iam::${ACCOUNT_ID}:role/${name}-role`,
      type: input.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      creationMs: this.deps.clock.nowMs(),
    };
    this.machines.set(arn, record);
    return { stateMachineArn: arn, creationDate: record.creationMs / 1000 };
  }

  /** The definition as the engine runs it: timeouts and retry intervals scaled (see `engineDefinition`). */
  private scaled(definition: StateMachineDefinition): StateMachineDefinition {
    return engineDefinition(definition, this.deps.clock.timeScale);
  }

  private machine(arn: string | undefined): StateMachineRecord {
    if (!arn)
      throw new AwsError('ValidationException', 'stateMachineArn is required; pass the state machine ARN.');
    if (!/^arn:aws:states:[^:]+:\d{12}:stateMachine:[^:]+$/.test(arn)) {
      throw new AwsError(
        'InvalidArn',
        `${arn} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>).`,
      );
    }
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsError('StateMachineDoesNotExist', `State machine ${arn} does not exist.`);
    return machine;
  }

  private execution(arn: string | undefined): Execution {
    if (!arn) throw new AwsError('ValidationException', 'executionArn is required; pass the execution ARN.');
    if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new AwsError(
        'InvalidArn',
        `${arn} is not an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>).`,
      );
    }
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsError('ExecutionDoesNotExist', `Execution ${arn} does not exist.`);
    return execution;
  }

  /** DescribeStateMachine. */
  describeStateMachine(arn: string | undefined) {
    const m = this.machine(arn);
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: m.creationMs / 1000,
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  /** ListStateMachines of a Region, oldest first. */
  listStateMachines(region: string, input: { maxResults?: number; nextToken?: string }) {
    const all = [...this.machines.values()].filter((m) => m.region === region);
    const { items, nextToken } = page(all, input.maxResults, input.nextToken);
    return {
      stateMachines: items.map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: m.type,
        creationDate: m.creationMs / 1000,
      })),
      nextToken,
    };
  }

  /**
   * StartExecution. A name already used answers the same execution when it is still running
   * with the same input, and `ExecutionAlreadyExists` otherwise, as Step Functions does.
   */
  startExecution(input: { stateMachineArn?: string; name?: string; input?: string }) {
    const machine = this.machine(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    if (!NAME.test(name)) {
      throw new AwsError(
        'InvalidName',
        `Execution name "${name}" is invalid: use 1-80 characters without spaces or special characters.`,
      );
    }
    const inputText = input.input ?? '{}';
    let value: JsonValue;
    try {
      value = JSON.parse(inputText) as JsonValue;
    } catch {
      throw new AwsError(
        'InvalidExecutionInput',
        `The execution input is not valid JSON: ${inputText.slice(0, 200)}`,
      );
    }
    if (Buffer.byteLength(inputText) > MAX_PAYLOAD_BYTES) {
      throw new AwsError(
        'InvalidExecutionInput',
        'The execution input is larger than 256 KB; pass ids, not payloads.',
      );
    }
    const arn = `arn:aws:states:${machine.region}:${ACCOUNT_ID}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === inputText) {
        return { executionArn: arn, startDate: existing.startMs / 1000 };
      }
      throw new AwsError(
        'ExecutionAlreadyExists',
        `Execution ${name} of ${machine.name} already exists (status ${existing.status}${existing.input === inputText ? '' : ', other input'}); start it under another name.`,
      );
    }
    const execution: Execution = {
      arn,
      name,
      machine,
      input: inputText,
      status: 'RUNNING',
      startMs: this.deps.clock.nowMs(),
      history: new ExecutionHistory(),
      invocations: new Map(),
      attempt: 0,
      redriveCount: 0,
      redriveTokens: [],
      abort: () => {},
      done: Promise.resolve(),
    };
    this.executions.set(arn, execution);
    execution.history.add('ExecutionStarted', {
      executionStartedEventDetails: {
        input: inputText,
        inputDetails: { truncated: false },
        roleArn: machine.roleArn,
      },
    });
    this.statusChanged(execution);
    this.run(execution, value);
    return { executionArn: arn, startDate: execution.startMs / 1000 };
  }

  /**
   * Runs the engine over the execution from `startAt` (the definition's StartAt, or the state a
   * redrive restarts) with `input`, appending to its history.
   */
  private run(execution: Execution, input: JsonValue, startAt?: string): void {
    const { machine } = execution;
    const attempt = ++execution.attempt;
    const current = () => execution.attempt === attempt;
    const engine =
      startAt === undefined
        ? machine.engine
        : // The definition was validated when the state machine was created; started further on,
          // the states before `startAt` are unreachable, which validation would refuse.
          new StateMachine(
            { ...this.scaled(machine.parsed), StartAt: startAt },
            { validationOptions: { noValidate: true } },
          );
    const run = engine.run(input, {
      context: {
        Execution: {
          Id: execution.arn,
          Name: execution.name,
          RoleArn: machine.roleArn,
          StartTime: new Date(execution.startMs).toISOString(),
          Input: input,
          RedriveCount: execution.redriveCount,
          ...(execution.redriveMs === undefined
            ? {}
            : { RedriveTime: new Date(execution.redriveMs).toISOString() }),
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
      overrides: this.overrides(execution, current),
    });
    execution.abort = run.abort;
    const consumed = (async () => {
      for await (const event of run.eventLogs) {
        if (!current()) continue;
        this.onTaskTimeout(execution, event as EngineEvent);
        execution.history.addEngineEvent(event as EngineEvent);
      }
    })();
    const outcome = run.result.then(
      (output) => ({ ok: true as const, output }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    execution.done = Promise.all([consumed, outcome]).then(([, result]) => {
      if (!current() || execution.status !== 'RUNNING') return;
      execution.stopMs = this.deps.clock.nowMs();
      if (result.ok) {
        execution.status = 'SUCCEEDED';
        execution.output = jsonText(result.output);
      } else if (result.error instanceof ExecutionTimeoutError) {
        execution.status = 'TIMED_OUT';
      } else if (result.error instanceof ExecutionAbortedError) {
        execution.status = 'ABORTED';
      } else {
        const failed = execution.history.list().findLast((e) => e.type === 'ExecutionFailed');
        const details = failed?.executionFailedEventDetails;
        execution.status = 'FAILED';
        execution.error = typeof details?.error === 'string' ? details.error : 'States.Runtime';
        execution.cause = typeof details?.cause === 'string' ? details.cause : String(result.error);
      }
      this.statusChanged(execution);
    });
  }

  /**
   * Lambda tasks run in process; Wait states shrink by the time scale (retry intervals are scaled
   * in the definition, where BackoffRate, MaxDelaySeconds and the jitter still apply to them).
   */
  private overrides(execution: Execution, current: () => boolean): Overrides {
    const scale = this.deps.clock.timeScale;
    const overrides: Required<Pick<Overrides, 'taskResourceLocalHandlers' | 'waitTimeOverrides'>> = {
      taskResourceLocalHandlers: {},
      waitTimeOverrides: {},
    };
    for (const [name, state] of allStates(execution.machine.parsed.States)) {
      if (state.Type === 'Task') {
        const resource = state.Resource;
        overrides.taskResourceLocalHandlers[name] = (input) =>
          this.runTask(execution, name, resource, input, current);
      }
      if (state.Type === 'Wait' && state.Seconds !== undefined) {
        overrides.waitTimeOverrides[name] = (state.Seconds * 1000) / scale;
      }
    }
    return overrides;
  }

  /** A Task state that timed out leaves its invocation running: its history says it timed out. */
  private onTaskTimeout(execution: Execution, event: EngineEvent): void {
    if (event.type !== 'StateFailed' || event.state?.type !== 'Task' || event.Error !== 'States.Timeout')
      return;
    const invocation = execution.invocations.get(event.state.name);
    if (!invocation || invocation.settled) return;
    invocation.settled = true;
    execution.history.add(
      ...invocation.events.timedOut(
        'States.Timeout',
        `The task ${event.state.name} ran past its TimeoutSeconds.`,
      ),
    );
  }

  private async runTask(
    execution: Execution,
    stateName: string,
    resource: string,
    input: JsonValue,
    current: () => boolean,
  ): Promise<JsonValue> {
    // The engine queued the state's entry before calling us; let the history take it first.
    await new Promise((resolve) => setImmediate(resolve));
    const invokeApi = LAMBDA_INVOKE.test(resource);
    if (!invokeApi && !LAMBDA_ARN.test(resource)) {
      throw new LambdaInvocationError(
        'States.TaskFailed',
        `The local AWS runs Lambda tasks only; resource ${resource} is not a Lambda function ARN.`,
      );
    }
    const request = invokeApi && input && typeof input === 'object' && !Array.isArray(input) ? input : {};
    const reference = invokeApi ? String(request.FunctionName ?? '') : resource;
    const payload = invokeApi ? (request.Payload ?? null) : input;
    const invocation: Invocation = {
      settled: false,
      events: invokeApi ? integrationEvents(execution.machine.region, request) : FUNCTION_EVENTS,
    };
    execution.invocations.set(stateName, invocation);
    // Once the state timed out, the late end of the invocation is no event of this history.
    const record = ([type, details]: HistoryDetails) =>
      invocation.settled || !current() ? undefined : execution.history.add(type, details);
    const fn = this.deps.lambdas.find(reference);
    record(invocation.events.scheduled(reference, payload, fn?.timeoutSeconds));
    try {
      if (!fn) {
        throw new LambdaInvocationError(
          'Lambda.ResourceNotFoundException',
          `Function not found: ${reference}; the template deployed into the local AWS has no such function.`,
        );
      }
      const result = await this.deps.lambdas.invoke(fn, payload, () => record(invocation.events.started()), {
        invoker: {
          kind: 'role',
          roleArn: execution.machine.roleArn,
          sessionName: roleSessionNameOf(execution.arn),
        },
        qualifiedArn: reference.startsWith('arn:') ? reference : fn.arn,
      });
      // The Invoke response of the integration; its Payload is the function's result.
      const output = invokeApi ? { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 } : result;
      if (Buffer.byteLength(jsonText(output)) > MAX_PAYLOAD_BYTES) {
        throw new LambdaInvocationError(
          'States.DataLimitExceeded',
          `The result of ${fn.functionName} is larger than the 256 KB Step Functions passes between states; return ids, not payloads.`,
        );
      }
      record(invocation.events.succeeded(output));
      invocation.settled = true;
      return output as JsonValue;
    } catch (error) {
      const failure =
        error instanceof LambdaInvocationError
          ? error
          : new LambdaInvocationError('Lambda.Unknown', String(error));
      record(invocation.events.failed(failure.name, failure.message));
      invocation.settled = true;
      throw failure;
    }
  }

  /** Puts the execution's status change on the default bus, as Step Functions does. */
  private statusChanged(execution: Execution): void {
    // Rule targets would call back into a local AWS that is going away.
    if (this.shuttingDown) return;
    const nowMs = this.deps.clock.nowMs();
    this.deps.events.emit({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: ACCOUNT_ID,
      time: new Date(nowMs).toISOString(),
      region: execution.machine.region,
      resources: [execution.arn],
      detail: {
        executionArn: execution.arn,
        stateMachineArn: execution.machine.arn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startMs,
        stopDate: execution.stopMs ?? null,
        input: execution.input,
        output: execution.output ?? null,
        inputDetails: { included: true },
        outputDetails: execution.output === undefined ? null : { included: true },
        error: execution.error ?? null,
        cause: execution.cause ?? null,
        ...this.redriveFields(execution),
      },
    });
  }

  /**
   * Why RedriveExecution would refuse the execution now, in Step Functions' words
   * (`redriveStatusReason`), or undefined when it may be redriven.
   */
  private notRedrivable(execution: Execution): string | undefined {
    if (execution.status === 'RUNNING') return 'Execution is RUNNING and cannot be redriven';
    if (execution.status === 'SUCCEEDED') return 'Execution is SUCCEEDED and cannot be redriven';
    if (execution.history.list().length >= MAX_HISTORY_EVENTS)
      return 'Execution history event limit exceeded';
    const endedMs = execution.stopMs ?? this.deps.clock.nowMs();
    if (this.deps.clock.nowMs() - endedMs > this.deps.clock.scaledMs(REDRIVE_PERIOD_MS)) {
      return 'Execution redrivable period exceeded';
    }
    return undefined;
  }

  /** The redrive fields DescribeExecution and the status change events carry. */
  private redriveFields(execution: Execution) {
    const reason = this.notRedrivable(execution);
    return {
      redriveCount: execution.redriveCount,
      redriveDate: execution.redriveMs === undefined ? null : execution.redriveMs / 1000,
      redriveStatus: reason === undefined ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
      redriveStatusReason: reason ?? null,
    };
  }

  /**
   * RedriveExecution: restarts an execution that FAILED, TIMED_OUT or was ABORTED, within 14 days
   * (scaled) of its end, from the top-level state that was unsuccessful, with the input that state
   * had, under the same ARN and definition; the states that succeeded are not run again. The
   * history goes on with `ExecutionRedriven`, `redriveCount` grows by one and the execution is
   * RUNNING again, its timeout counted from the redrive. A client token already used answers the
   * same redrive. Parallel and Map states restart whole, not only their failed branches.
   */
  redriveExecution(input: { executionArn?: string; clientToken?: string }) {
    const execution = this.execution(input.executionArn);
    const repeated = execution.redriveTokens.find((used) => used.token === input.clientToken);
    if (input.clientToken !== undefined && repeated) return { redriveDate: repeated.redriveMs / 1000 };
    const reason = this.notRedrivable(execution);
    const from = reason
      ? undefined
      : execution.history.unsuccessfulState(new Set(Object.keys(execution.machine.parsed.States)));
    if (reason || !from) {
      throw new AwsError(
        'ExecutionNotRedrivable',
        `Execution ${execution.arn} cannot be redriven: ${reason ?? 'it has no unsuccessful state to restart from'}; start a new execution instead.`,
      );
    }
    const nowMs = this.deps.clock.nowMs();
    execution.redriveCount += 1;
    execution.redriveMs = nowMs;
    if (input.clientToken !== undefined) {
      execution.redriveTokens = [
        ...execution.redriveTokens,
        { token: input.clientToken, redriveMs: nowMs },
      ].slice(-REDRIVE_TOKENS_KEPT);
    }
    execution.status = 'RUNNING';
    execution.stopMs = undefined;
    execution.output = undefined;
    execution.error = undefined;
    execution.cause = undefined;
    execution.invocations.clear();
    execution.history.reopen();
    execution.history.add('ExecutionRedriven', {
      executionRedrivenEventDetails: { redriveCount: execution.redriveCount },
    });
    this.statusChanged(execution);
    this.run(execution, JSON.parse(from.input) as JsonValue, from.name);
    return { redriveDate: nowMs / 1000 };
  }

  /**
   * DescribeExecution. It is eventually consistent ("may not reflect very recent updates",
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html): under
   * a `describe-lag` fault it still reports an execution RUNNING, as it was, shortly after it ended.
   */
  describeExecution(arn: string | undefined) {
    const e = this.execution(arn);
    if (
      e.stopMs !== undefined &&
      this.deps.faults.lagging('sfn', this.deps.clock.timeScale * (this.deps.clock.nowMs() - e.stopMs))
    ) {
      return {
        executionArn: e.arn,
        stateMachineArn: e.machine.arn,
        name: e.name,
        status: 'RUNNING',
        startDate: e.startMs / 1000,
        input: e.input,
        inputDetails: { included: true },
        redriveCount: e.redriveCount,
        redriveStatus: 'NOT_REDRIVABLE',
        redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
        ...(e.redriveMs === undefined ? {} : { redriveDate: e.redriveMs / 1000 }),
      };
    }
    return {
      executionArn: e.arn,
      stateMachineArn: e.machine.arn,
      name: e.name,
      status: e.status,
      startDate: e.startMs / 1000,
      stopDate: e.stopMs === undefined ? undefined : e.stopMs / 1000,
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      outputDetails: e.output === undefined ? undefined : { included: true },
      error: e.error,
      cause: e.cause,
      ...this.redriveFields(e),
      redriveDate: e.redriveMs === undefined ? undefined : e.redriveMs / 1000,
      redriveStatusReason: this.notRedrivable(e),
    };
  }

  /** ListExecutions of a state machine, newest first. */
  listExecutions(input: {
    stateMachineArn?: string;
    statusFilter?: string;
    redriveFilter?: string;
    maxResults?: number;
    nextToken?: string;
  }) {
    const machine = this.machine(input.stateMachineArn);
    if (input.redriveFilter !== undefined) {
      throw new AwsError(
        'ValidationException',
        'redriveFilter lists the child executions of a Map Run; pass mapRunArn, not stateMachineArn, with it.',
      );
    }
    if (input.statusFilter !== undefined && !STATUSES.has(input.statusFilter)) {
      throw new AwsError(
        'ValidationException',
        `statusFilter ${input.statusFilter} is invalid; use one of ${[...STATUSES].join(', ')}.`,
      );
    }
    const all = [...this.executions.values()]
      .filter(
        (e) => e.machine === machine && (input.statusFilter === undefined || e.status === input.statusFilter),
      )
      .sort((a, b) => b.startMs - a.startMs);
    const { items, nextToken } = page(all, input.maxResults, input.nextToken);
    return {
      executions: items.map((e) => ({
        executionArn: e.arn,
        stateMachineArn: machine.arn,
        name: e.name,
        status: e.status,
        startDate: e.startMs / 1000,
        stopDate: e.stopMs === undefined ? undefined : e.stopMs / 1000,
        redriveCount: e.redriveCount,
        redriveDate: e.redriveMs === undefined ? undefined : e.redriveMs / 1000,
      })),
      nextToken,
    };
  }

  /** GetExecutionHistory, paged, oldest first unless `reverseOrder`. */
  getExecutionHistory(input: {
    executionArn?: string;
    maxResults?: number;
    nextToken?: string;
    reverseOrder?: boolean;
    includeExecutionData?: boolean;
  }) {
    const execution = this.execution(input.executionArn);
    const events = [...execution.history.list()];
    if (input.reverseOrder) events.reverse();
    const { items, nextToken } = page(events, input.maxResults, input.nextToken);
    return {
      events: items.map((event) => historyEventOnWire(event, input.includeExecutionData !== false)),
      nextToken,
    };
  }

  /** StopExecution: the execution is ABORTED at once; its running task is left to finish, as in AWS. */
  stopExecution(input: { executionArn?: string; error?: string; cause?: string }) {
    const execution = this.execution(input.executionArn);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stopMs = this.deps.clock.nowMs();
      execution.error = input.error;
      execution.cause = input.cause;
      execution.history.add('ExecutionAborted', {
        executionAbortedEventDetails: { error: input.error, cause: input.cause },
      });
      execution.abort();
      this.statusChanged(execution);
    }
    return { stopDate: (execution.stopMs ?? this.deps.clock.nowMs()) / 1000 };
  }

  /** Aborts every running execution and the retries of asynchronous Lambda invocations (the local AWS is shutting down). */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.deps.lambdas.shutdown();
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const execution of running) {
      this.stopExecution({
        executionArn: execution.arn,
        error: 'LocalAws.Shutdown',
        cause: 'The local AWS stopped.',
      });
    }
    await Promise.all(running.map((e) => e.done));
  }

  /** Resolves when the execution has ended (tests and the demo wait on it). */
  async settled(executionArn: string): Promise<void> {
    await this.execution(executionArn).done;
  }
}
