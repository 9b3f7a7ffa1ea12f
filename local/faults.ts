import { z } from 'zod';

/**
 * The failures the local AWS can be told to inject, through `POST /_local/faults` or
 * `LocalAws.faults.add()`. Task faults match a task by its tags (`stepdeploy:environment`,
 * `stepdeploy:step`) and its cluster name; an absent selector matches everything.
 * `count` limits how many times a fault fires (every time when absent; required for
 * throttling and Lambda failures).
 */
export type Fault =
  /** The task's process starts, then is killed after `afterMs` (scaled) and its container reports `exitCode`. */
  | {
      kind: 'task-exit';
      environment?: string;
      step?: string;
      cluster?: string;
      exitCode: number;
      afterMs?: number;
      count?: number;
    }
  /** RunTask answers the task in `failures` with `reason` instead of starting it. */
  | {
      kind: 'task-start-failure';
      environment?: string;
      step?: string;
      cluster?: string;
      reason: string;
      count?: number;
    }
  /**
   * The next `count` calls of `service`'s `operation` answer `ThrottlingException` (400).
   * `service` is `ecs`, `logs`, `events`, `codedeploy` or `sfn`; `operation` is the API
   * name (`DescribeTasks`), or `*` for every operation of the service.
   */
  | { kind: 'throttle'; service: string; operation: string; count: number }
  /** The CodeDeploy deployment of (environment, service) fails at `lifecycleEvent`. */
  | {
      kind: 'deployment-failure';
      environment: string;
      service: string;
      lifecycleEvent: string;
      count?: number;
    }
  /** The CodeDeploy deployment of (environment, service) never finishes on its own. */
  | { kind: 'deployment-hang'; environment: string; service: string; count?: number }
  /**
   * The rollback CodeDeploy makes of the deployment of (environment, service) fails: it cannot
   * restore the original task set, as when that was already terminated.
   */
  | { kind: 'rollback-failure'; environment: string; service: string; count?: number }
  /** The next `count` invocations of the Lambda handler `verb` fail with a Lambda service error. */
  | { kind: 'lambda-failure'; verb: string; count: number }
  /**
   * The next `count` invocations of the Lambda handler `verb` run to the end (whatever they
   * change is changed), then Lambda reports them timed out (`Sandbox.Timedout`) instead of
   * returning their result: a handler that ran out of time just after acting.
   */
  | { kind: 'lambda-timeout'; verb: string; count: number }
  /**
   * GetLogEvents answers the next `count` forward reads that would return events with an empty
   * page and a new `nextForwardToken` that leads to the same events, as CloudWatch Logs may:
   * "Partially full or empty pages don't necessarily mean that pagination is finished"
   * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html).
   */
  | { kind: 'logs-empty-page'; count: number }
  /**
   * Reads of `service` do not show a resource yet for `lagMs` (AWS time, scaled like every wait)
   * after it was made or changed, as eventually consistent APIs may: ECS `DescribeTasks` answers a
   * task MISSING for `lagMs` after RunTask started it; CodeDeploy `BatchGetDeployments` leaves a
   * deployment out for `lagMs` after CreateDeployment; Step Functions `DescribeExecution` still
   * reports an execution RUNNING for `lagMs` after it ended. Each lagging answer uses one of `count`.
   */
  | { kind: 'describe-lag'; service: 'ecs' | 'codedeploy' | 'sfn'; lagMs: number; count?: number }
  /**
   * EventBridge delivers the next `count` events (of `detailType` when given) twice to each
   * target of every rule they match, both at once: its delivery is at least once.
   */
  | { kind: 'duplicate-delivery'; detailType?: string; count?: number }
  /**
   * PutEvents fails the next `count` entries (of `source` and `detailType` when given): it
   * answers them in `FailedEntryCount` with `errorCode` (default `InternalFailure`, which
   * EventBridge calls retryable) and an `ErrorMessage` instead of an `EventId`, and does not
   * put them on the bus. It does not throw.
   */
  | {
      kind: 'put-events-entry-failure';
      source?: string;
      detailType?: string;
      errorCode?: string;
      count?: number;
    };

/** The kinds of fault. */
export type FaultKind = Fault['kind'];

/** Every kind of fault once (a record, so a kind added to `Fault` must be added here). */
const KINDS: Record<FaultKind, true> = {
  'task-exit': true,
  'task-start-failure': true,
  throttle: true,
  'deployment-failure': true,
  'deployment-hang': true,
  'rollback-failure': true,
  'lambda-failure': true,
  'lambda-timeout': true,
  'logs-empty-page': true,
  'describe-lag': true,
  'duplicate-delivery': true,
  'put-events-entry-failure': true,
};

/** Every kind of fault, as error messages list them. */
export const FAULT_KINDS = Object.keys(KINDS) as FaultKind[];

/** The fault of one kind. */
export type FaultOf<K extends FaultKind> = Extract<Fault, { kind: K }>;

const count = z.number().int().positive();

/** Schema of one fault, as the control path and the `--fault` option take it. */
export const faultSchema: z.ZodType<Fault> = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('task-exit'),
    environment: z.string().optional(),
    step: z.string().optional(),
    cluster: z.string().optional(),
    exitCode: z.number().int(),
    afterMs: z.number().nonnegative().optional(),
    count: count.optional(),
  }),
  z.strictObject({
    kind: z.literal('task-start-failure'),
    environment: z.string().optional(),
    step: z.string().optional(),
    cluster: z.string().optional(),
    reason: z.string().min(1),
    count: count.optional(),
  }),
  z.strictObject({ kind: z.literal('throttle'), service: z.string(), operation: z.string(), count }),
  z.strictObject({
    kind: z.literal('deployment-failure'),
    environment: z.string(),
    service: z.string(),
    lifecycleEvent: z.string(),
    count: count.optional(),
  }),
  z.strictObject({
    kind: z.literal('deployment-hang'),
    environment: z.string(),
    service: z.string(),
    count: count.optional(),
  }),
  z.strictObject({
    kind: z.literal('rollback-failure'),
    environment: z.string(),
    service: z.string(),
    count: count.optional(),
  }),
  z.strictObject({ kind: z.literal('lambda-failure'), verb: z.string(), count }),
  z.strictObject({ kind: z.literal('logs-empty-page'), count }),
  z.strictObject({ kind: z.literal('lambda-timeout'), verb: z.string(), count }),
  z.strictObject({
    kind: z.literal('describe-lag'),
    service: z.enum(['ecs', 'codedeploy', 'sfn']),
    lagMs: z.number().positive(),
    count: count.optional(),
  }),
  z.strictObject({
    kind: z.literal('duplicate-delivery'),
    detailType: z.string().optional(),
    count: count.optional(),
  }),
  z.strictObject({
    kind: z.literal('put-events-entry-failure'),
    source: z.string().optional(),
    detailType: z.string().optional(),
    errorCode: z.string().min(1).optional(),
    count: count.optional(),
  }),
]);

/**
 * Parses one fault or a list of them; the error names the bad field and lists the kinds.
 */
export function parseFaults(input: unknown): Fault[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((item, index) => {
    const parsed = faultSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = [`faults[${index}]`, ...(issue?.path ?? []).map(String)].join('.');
      throw new Error(
        `Fault ${where} is invalid: ${issue?.message ?? 'unknown problem'}. Kinds: ${FAULT_KINDS.join(', ')} (see local/faults.ts).`,
      );
    }
    return parsed.data;
  });
}

/** The faults in force. Each `take` of a counted fault uses one of its firings. */
export class Faults {
  private faults: Fault[] = [];

  /** Adds faults; they fire from the next matching call on. */
  add(faults: Fault | Fault[]): void {
    this.faults.push(...(Array.isArray(faults) ? faults : [faults]).map((fault) => ({ ...fault })));
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = [];
  }

  /** The faults still in force, with their remaining counts. */
  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /**
   * The first fault of `kind` that `matches` accepts, using one of its firings; undefined
   * when none applies.
   */
  take<K extends FaultKind>(
    kind: K,
    matches: (fault: FaultOf<K>) => boolean = () => true,
  ): FaultOf<K> | undefined {
    const index = this.faults.findIndex((fault) => fault.kind === kind && matches(fault as FaultOf<K>));
    if (index < 0) return undefined;
    const fault = this.faults[index] as FaultOf<K>;
    if (fault.count !== undefined) {
      if (fault.count <= 1) this.faults.splice(index, 1);
      else this.faults[index] = { ...fault, count: fault.count - 1 };
    }
    return { ...fault };
  }

  /**
   * Whether a read of `service` does not show yet a resource made or changed `ageMs` ago (AWS
   * time), using a firing of the `describe-lag` fault that says so.
   */
  lagging(service: FaultOf<'describe-lag'>['service'], ageMs: number): boolean {
    return (
      this.take('describe-lag', (fault) => fault.service === service && ageMs < fault.lagMs) !== undefined
    );
  }

  /** The task fault of `kind` that applies to a task with these tags in this cluster, if any. */
  takeTaskFault<K extends 'task-exit' | 'task-start-failure'>(
    kind: K,
    task: { environment?: string; step?: string; cluster: string },
  ): FaultOf<K> | undefined {
    return this.take(kind, (fault) => {
      const selector: FaultOf<'task-exit' | 'task-start-failure'> = fault;
      return (
        (selector.environment === undefined || selector.environment === task.environment) &&
        (selector.step === undefined || selector.step === task.step) &&
        (selector.cluster === undefined || selector.cluster === task.cluster)
      );
    });
  }
}
