import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { FlowHandlers } from './handlers.js';
import { checkUntilDecided, invoke } from './invoke.js';

/** Settings of the rollback phase. */
export interface RollBackProps {
  /** The rollback handlers. */
  readonly handlers: Pick<FlowHandlers, 'roll-back' | 'check-rollbacks'>;
  /** Where the run goes when the rollback itself raised an error (kept at `$.error`). */
  readonly onError: sfn.IChainable;
}

/**
 * The rollback phase: `RollBack` rolls every deployment of the run back, then
 * `RollBack?` ⇄ `AwaitRollbacks` until each is terminal; when one ended without getting back
 * and a deployment of the previous revision can still bring it back (REDEPLOY), `RollBack`
 * makes that deployment and the watch goes on. The fragment continues whether the rollbacks
 * SUCCEEDED or FAILED: the report in `$.rollback` says which.
 */
export class RollBack extends sfn.StateMachineFragment {
  /** The state that starts the rollbacks. */
  public readonly startState: sfn.State;
  /** The continuation once every rollback is terminal. */
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: RollBackProps) {
    super(scope, id);
    const resultPath = '$.rollback';

    const start = invoke(this, 'RollBack', {
      handler: props.handlers['roll-back'],
      payload: { state: sfn.JsonPath.entirePayload },
      resultPath,
      comment:
        'Rolls back every deployment of the run: stop, redeploy the previous revision or adopt; on REDEPLOY, redeploys where a rollback did not get back',
    });
    const { check, exit } = checkUntilDecided(this, start, {
      choice: 'RollBack?',
      check: 'AwaitRollbacks',
      handler: props.handlers['check-rollbacks'],
      resultPath,
      comment: 'Watches the rollbacks until every one is terminal or the watch ran out',
      // A rollback that did not get back (the stop came too late, CodeDeploy's rollback failed):
      // RollBack deploys the previous revision there, once, and the rollbacks are watched again.
      onStatus: { REDEPLOY: start },
    });

    for (const state of [start, check]) state.addCatch(props.onError, { resultPath: '$.error' });

    this.startState = start;
    this.endStates = [exit];
  }
}
