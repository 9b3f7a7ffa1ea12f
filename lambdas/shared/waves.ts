import type { DeploymentGroupInfo } from '@aws-sdk/client-codedeploy';
import type { DeployConfig, WaveConfig } from './config.js';
import { deploymentRefs } from './revisions.js';
import type { DeploymentRef, DeployState, Plan, PlannedWave, WaveProgress } from './types.js';

/**
 * Waves: the order environments are deployed in. Pre-deploy steps and migrations run
 * everywhere first; then each wave's deployments go out, bake, and the next wave follows.
 */

/** The configured waves; a configuration without them has one wave of every environment, cut over independently. */
export function configuredWaves(config: Pick<DeployConfig, 'environments' | 'waves'>): WaveConfig[] {
  return (
    config.waves ?? [
      { environments: config.environments.map((environment) => environment.name), cutover: 'independent' },
    ]
  );
}

/** The waves of a plan; a plan made before waves has one wave of its environments, cut over independently. */
export function plannedWaves(plan: Pick<Plan, 'environments' | 'waves'>): PlannedWave[] {
  return plan.waves ?? [{ environments: [...plan.environments], cutover: 'independent' }];
}

/**
 * The current wave of the deployments' state; a state made before waves is one wave of every
 * deployment it holds, cut over independently.
 */
export function waveOf(deploy: DeployState): WaveProgress {
  return (
    deploy.wave ?? {
      index: 0,
      of: 1,
      environments: Object.keys(deploy.deployments),
      cutover: 'independent',
      startedAt: new Date(0).toISOString(),
    }
  );
}

/** The deployments of the state's current wave. */
export function waveRefs(deploy: DeployState): DeploymentRef[] {
  const environments = new Set(waveOf(deploy).environments);
  return deploymentRefs(deploy.deployments).filter((ref) => environments.has(ref.environment));
}

/**
 * True when a deployment group waits in Ready for ContinueDeployment before it moves production
 * traffic: its ready option is STOP_DEPLOYMENT
 * (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentReadyOption.html).
 * The construct's `deploymentApprovalWaitTime` of an ECS group sets it.
 */
export function hasReadyWait(group: Pick<DeploymentGroupInfo, 'blueGreenDeploymentConfiguration'>): boolean {
  return group.blueGreenDeploymentConfiguration?.deploymentReadyOption?.actionOnTimeout === 'STOP_DEPLOYMENT';
}
