import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { Bake } from './bake.js';
import { Deploy } from './deploy.js';
import type { FlowHandlers } from './handlers.js';
import { invoke } from './invoke.js';
import { RollBack } from './roll-back.js';
import { TaskPhase } from './task-phase.js';

/**
 * The whole release flow, from Plan to the final Succeed or Fail:
 *
 * Plan → PreDeploySteps → Migrate → [Deploy → (CutOver) → RetireOldWorkers → Bake → NextWave?]…
 *   → PostDeploySteps → Announce → Released?
 *
 * Pre-deploy steps and migrations run in every environment; then the waves go out one after
 * the other: each deploys (cutting over together where its groups wait in Ready), retires its
 * old workers, bakes, and `NextWave?` loops back to Deploy while the bake names a next wave,
 * else goes on to the post-deploy steps. A failed or erroring
 * pre-deploy step or migration stops its phase's tasks and goes to Announce; a failed
 * deployment, cut-over or bake goes through RollBack/AwaitRollbacks (every wave released so
 * far, or the wave alone) to Announce. Plan refuses a foreign active deployment before
 * anything starts; one that appears after Plan fails StartDeployments: straight to Announce for
 * the first wave (nothing to roll back), through RollBack for a later one. Retiring old workers
 * and post-deploy steps are reported (`$.retireError`, `$.postDeployError`, `$.postDeploy`)
 * but never fail the run. Announce decides the outcome from the state.
 */
export function buildFlow(scope: Construct, handlers: FlowHandlers): sfn.IChainable {
  const executionArn = sfn.JsonPath.executionId;

  const announce = invoke(scope, 'Announce', {
    handler: handlers.announce,
    // The execution input too: after Plan's Catch the state is only the error.
    payload: { state: sfn.JsonPath.entirePayload, executionArn, input: sfn.JsonPath.executionInput },
    resultPath: '$.announce',
    comment: 'Puts the outcome on EventBridge and decides how the run ends',
  });
  const released = new sfn.Choice(scope, 'Released?')
    .when(sfn.Condition.stringEquals('$.announce.outcome', 'SUCCEEDED'), new sfn.Succeed(scope, 'Released'))
    .otherwise(
      new sfn.Fail(scope, 'NotReleased', { errorPath: '$.announce.error', causePath: '$.announce.cause' }),
    );

  const plan = invoke(scope, 'Plan', {
    handler: handlers.plan,
    payload: {
      // The input from the context object, not `$`: a path applied to a `null` input fails the
      // state with a runtime error no Catch catches (https://github.com/awslabs/states-language/issues/29).
      input: sfn.JsonPath.executionInput,
      executionArn,
      stateMachineArn: sfn.JsonPath.stateMachineId,
    },
    resultPath: '$.plan',
    comment: 'Validates the input, refuses a concurrent run, registers the new task definition revisions',
  });
  // The error becomes the whole state: `$.error` cannot be set on an input that is not an object
  // (`[]`, `"x"`, `42`, `null`), and States.ResultPathMatchFailure would end the run unannounced.
  // Nothing ran yet, so Announce reads the release from the execution input.
  plan.addCatch(announce, { resultPath: '$' });

  const preDeploySteps = new TaskPhase(scope, 'PreDeployPhase', {
    phase: 'pre-deploy',
    name: 'PreDeploySteps',
    resultPath: '$.preDeploy',
    errorPath: '$.error',
    handlers,
    onFailure: announce,
  });
  const migrate = new TaskPhase(scope, 'MigratePhase', {
    phase: 'migrate',
    name: 'Migrate',
    resultPath: '$.migrate',
    errorPath: '$.error',
    handlers,
    onFailure: announce,
  });
  const rollBack = new RollBack(scope, 'RollBackPhase', { handlers, onError: announce });
  const deploy = new Deploy(scope, 'DeployPhase', {
    handlers,
    onFailure: rollBack,
    onForeignDeployment: announce,
  });
  const bake = new Bake(scope, 'BakePhase', { handlers, onFailure: rollBack });
  const postDeploySteps = new TaskPhase(scope, 'PostDeployPhase', {
    phase: 'post-deploy',
    name: 'PostDeploySteps',
    resultPath: '$.postDeploy',
    errorPath: '$.postDeployError',
    handlers,
    onFailure: announce,
  });
  const retireOldWorkers = invoke(scope, 'RetireOldWorkers', {
    handler: handlers['retire-old-workers'],
    payload: { state: sfn.JsonPath.entirePayload },
    resultPath: '$.retire',
    comment: 'Skips the termination wait of the wave’s worker services so old workers drain now',
  }).addCatch(bake, { resultPath: '$.retireError' });

  const nextWave = new sfn.Choice(scope, 'NextWave?', { comment: 'Deploys the next wave, once one baked' })
    .when(sfn.Condition.isPresent('$.bake.nextWave'), deploy)
    .otherwise(postDeploySteps);

  rollBack.next(announce);
  postDeploySteps.next(announce).next(released);
  return plan
    .next(preDeploySteps)
    .next(migrate)
    .next(deploy)
    .next(retireOldWorkers)
    .next(bake)
    .next(nextWave);
}
