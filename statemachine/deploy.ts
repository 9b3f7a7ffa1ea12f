import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERROR_NAMES } from '../lambdas/shared/errors.js';
import type { FlowHandlers } from './handlers.js';
import { checkUntilDecided, invoke } from './invoke.js';

/** Settings of the deploy phase. */
export interface DeployProps {
  /** The deployment handlers. */
  readonly handlers: Pick<FlowHandlers, 'start-deployments' | 'check-deployments' | 'cut-over'>;
  /** Where the run goes when a deployment failed or an error was caught: the rollback. */
  readonly onFailure: sfn.IChainable;
  /** Where the run goes when a foreign deployment is active: nothing was created, so nothing to roll back. */
  readonly onForeignDeployment: sfn.IChainable;
}

/**
 * The deploy phase of one wave: `Deploy` creates (or adopts) a CodeDeploy deployment per
 * (environment, service) of the wave, then `Deploy?` ⇄ `CheckDeploy` until traffic moved on
 * all of them (the fragment continues) or one failed or an alarm fired (`onFailure`). A wave
 * that cuts over together comes to READY once every deployment waits in its ready wait:
 * `CutOver` then continues them all at once and the check watches the traffic move. The state
 * is kept at `$.deploy`, caught errors at `$.error`.
 */
export class Deploy extends sfn.StateMachineFragment {
  /** The state that creates the deployments. */
  public readonly startState: sfn.State;
  /** The continuation once traffic moved on every deployment of the wave. */
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: DeployProps) {
    super(scope, id);
    const resultPath = '$.deploy';

    // The whole state: the next wave is named by the last bake, when there was one.
    const start = invoke(this, 'Deploy', {
      handler: props.handlers['start-deployments'],
      payload: { state: sfn.JsonPath.entirePayload, executionArn: sfn.JsonPath.executionId },
      resultPath,
      comment: 'Creates a blue/green deployment per environment and service of the next wave',
    });
    const cutOver = invoke(this, 'CutOver', {
      handler: props.handlers['cut-over'],
      payload: { state: sfn.JsonPath.objectAt(resultPath) },
      resultPath,
      comment: 'Moves production traffic on every deployment of the wave at once, all of them Ready',
    });
    const { check, choice, exit } = checkUntilDecided(this, start, {
      choice: 'Deploy?',
      check: 'CheckDeploy',
      handler: props.handlers['check-deployments'],
      resultPath,
      comment:
        'Watches the wave’s deployments and alarms until one failed, all are Ready, all moved traffic or the watch ran out',
      onFailed: props.onFailure,
      onStatus: { READY: cutOver },
    });
    cutOver.next(choice);

    // A group still finishing an earlier release's deployment whose termination wait Plan ended
    // (CodeDeploy terminates its original tasks, within their stop timeout): try again, adopting
    // what was created; about 10 minutes in all, each attempt waiting as long as it may.
    start.addRetry({
      errors: [ERROR_NAMES.previousDeploymentFinishing],
      interval: Duration.seconds(15),
      backoffRate: 2,
      maxAttempts: 4,
    });
    start.addCatch(props.onForeignDeployment, {
      errors: [ERROR_NAMES.foreignDeployment],
      resultPath: '$.error',
    });
    // Some deployments may exist when any other error strikes: roll back whatever the run created.
    for (const state of [start, check, cutOver]) state.addCatch(props.onFailure, { resultPath: '$.error' });

    this.startState = start;
    this.endStates = [exit];
  }
}
