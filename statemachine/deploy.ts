import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERROR_NAMES } from '../lambdas/shared/errors.js';
import type { FlowHandlers } from './handlers.js';
import { checkUntilDecided, invoke } from './invoke.js';

/** Settings of the deploy phase. */
export interface DeployProps {
  /** The deployment handlers. */
  readonly handlers: Pick<FlowHandlers, 'start-deployments' | 'check-deployments'>;
  /** Where the run goes when a deployment failed or an error was caught: the rollback of every deployment. */
  readonly onFailure: sfn.IChainable;
  /** Where the run goes when a foreign deployment is active: nothing was created, so nothing to roll back. */
  readonly onForeignDeployment: sfn.IChainable;
}

/**
 * The deploy phase: `Deploy` creates (or adopts) a CodeDeploy deployment per
 * (environment, service), then `Deploy?` ⇄ `CheckDeploy` until all succeeded (the
 * fragment continues) or one failed (`onFailure`). The state is kept at `$.deploy`,
 * caught errors at `$.error`.
 */
export class Deploy extends sfn.StateMachineFragment {
  /** The state that creates the deployments. */
  public readonly startState: sfn.State;
  /** The continuation once every deployment succeeded. */
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: DeployProps) {
    super(scope, id);
    const resultPath = '$.deploy';

    const start = invoke(this, 'Deploy', {
      handler: props.handlers['start-deployments'],
      payload: { plan: sfn.JsonPath.objectAt('$.plan'), executionArn: sfn.JsonPath.executionId },
      resultPath,
      comment: 'Creates a blue/green deployment per environment and service',
    });
    const { check, exit } = checkUntilDecided(this, start, {
      choice: 'Deploy?',
      check: 'CheckDeploy',
      handler: props.handlers['check-deployments'],
      resultPath,
      comment: 'Watches the deployments until one failed, all succeeded or the watch ran out',
      onFailed: props.onFailure,
    });

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
    start.addCatch(props.onFailure, { resultPath: '$.error' });
    check.addCatch(props.onFailure, { resultPath: '$.error' });

    this.startState = start;
    this.endStates = [exit];
  }
}
