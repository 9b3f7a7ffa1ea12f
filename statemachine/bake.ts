import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { FlowHandlers } from './handlers.js';
import { choiceExit, invoke, statusAt } from './invoke.js';

/** Settings of the bake phase. */
export interface BakeProps {
  /** The bake handler. */
  readonly handlers: Pick<FlowHandlers, 'check-bake'>;
  /** Where the run goes when an alarm fired or an error was caught: the rollback. */
  readonly onFailure: sfn.IChainable;
}

/**
 * The bake of one wave, once its traffic moved: `Bake` ⇄ `Bake?` watches the wave's alarms
 * (each call long-polls) until the bake time passed (the fragment continues) or an alarm went
 * into ALARM (`onFailure`). The state is kept at `$.bake`; it names the next wave, if any.
 */
export class Bake extends sfn.StateMachineFragment {
  /** The state that watches. */
  public readonly startState: sfn.State;
  /** The continuation once the wave baked. */
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: BakeProps) {
    super(scope, id);
    const resultPath = '$.bake';
    const status = statusAt(resultPath);

    const bake = invoke(this, 'Bake', {
      handler: props.handlers['check-bake'],
      payload: { state: sfn.JsonPath.objectAt('$.deploy') },
      resultPath,
      comment: 'Watches the wave’s alarms for the bake time, once its traffic moved',
    });
    const baked = new sfn.Choice(this, 'Bake?')
      .when(sfn.Condition.stringEquals(status, 'RUNNING'), bake)
      .when(sfn.Condition.stringEquals(status, 'FAILED'), props.onFailure);
    bake.next(baked);
    bake.addCatch(props.onFailure, { resultPath: '$.error' });

    this.startState = bake;
    this.endStates = [choiceExit(baked, sfn.Condition.stringEquals(status, 'SUCCEEDED'))];
  }
}
