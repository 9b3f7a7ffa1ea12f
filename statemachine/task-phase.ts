import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Phase } from '../lambdas/shared/types.js';
import type { FlowHandlers } from './handlers.js';
import { checkUntilDecided, invoke } from './invoke.js';

/** Settings of one task phase (pre-deploy steps, migrations, post-deploy steps). */
export interface TaskPhaseProps {
  /** The phase the handlers run. */
  readonly phase: Phase;
  /** Name of the phase's first state, as the console shows it; the other states derive theirs from it. */
  readonly name: string;
  /** Where the phase's `TaskPhaseState` is kept (`$.migrate`). */
  readonly resultPath: string;
  /** Where a caught error goes (`$.error`, or `$.postDeployError` for a phase that must not fail the run). */
  readonly errorPath: string;
  /** The task handlers. */
  readonly handlers: Pick<FlowHandlers, 'start-tasks' | 'check-tasks' | 'stop-tasks'>;
  /** Where the run goes once the phase failed and its tasks were stopped. */
  readonly onFailure: sfn.IChainable;
}

/**
 * One task phase: start every task at once, check them (each check long-polls) until
 * the aggregate is decided, and on failure stop the siblings before leaving through
 * `onFailure`. The fragment continues with the next state once the phase SUCCEEDED.
 *
 * States: `<name>` → `<name>?` ⇄ `Check<name>`; FAILED → `Stop<name>`; a caught error →
 * `Stop<name>AfterError` (which finds the tasks by the run's `startedBy`, since the
 * phase state may not exist yet).
 */
export class TaskPhase extends sfn.StateMachineFragment {
  /** The state that starts the tasks. */
  public readonly startState: sfn.State;
  /** The continuation once every task of the phase succeeded. */
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: TaskPhaseProps) {
    super(scope, id);
    const { phase, name, resultPath, errorPath, handlers } = props;

    const start = invoke(this, name, {
      handler: handlers['start-tasks'],
      payload: { phase, plan: sfn.JsonPath.objectAt('$.plan'), executionArn: sfn.JsonPath.executionId },
      resultPath,
      comment: `Starts every ${phase} task of the run`,
    });
    const stop = invoke(this, `Stop${name}`, {
      handler: handlers['stop-tasks'],
      payload: { phase, plan: sfn.JsonPath.objectAt('$.plan'), state: sfn.JsonPath.objectAt(resultPath) },
      resultPath,
      comment: `Stops the ${phase} tasks still running after one failed`,
    });
    const stopAfterError = invoke(this, `Stop${name}AfterError`, {
      handler: handlers['stop-tasks'],
      payload: { phase, plan: sfn.JsonPath.objectAt('$.plan'), error: sfn.JsonPath.objectAt(errorPath) },
      resultPath,
      comment: `Stops the ${phase} tasks the run started before the error`,
    });
    const { check, exit } = checkUntilDecided(this, start, {
      choice: `${name}?`,
      check: `Check${name}`,
      handler: handlers['check-tasks'],
      resultPath,
      comment: `Watches the ${phase} tasks until one failed, all succeeded or the watch ran out`,
      onFailed: stop.next(props.onFailure),
    });

    for (const state of [start, check]) state.addCatch(stopAfterError, { resultPath: errorPath });
    for (const state of [stop, stopAfterError]) state.addCatch(props.onFailure, { resultPath: errorPath });

    stopAfterError.next(props.onFailure);

    this.startState = start;
    this.endStates = [exit];
  }
}
