import type { DeployConfig } from './config.js';
import { ValidationError } from './errors.js';
import type { DeploymentIds, DeploymentRef, Plan, Revision, TaskDefinitionArn } from './types.js';

/**
 * The plan and the deployments' state in the compact shapes the state machine carries,
 * turned into what the handlers and readers work with: `family:revision` strings and a
 * list of deployment refs.
 */

/** `family:revision` of `service`'s task definition in `environment`, before (`previous`) or after (`next`) the release. */
export function serviceRevision(
  config: DeployConfig,
  plan: Pick<Plan, 'services'>,
  environment: string,
  service: string,
  which: 'previous' | 'next',
): Revision {
  const configured = config.environments
    .find((env) => env.name === environment)
    ?.services.find((candidate) => candidate.name === service);
  if (!configured) {
    throw new ValidationError(
      `plan.services.${environment}.${service}: service "${service}" is not configured in environment "${environment}"; start a new execution so Plan runs against the current configuration.`,
    );
  }
  const number = plan.services[environment]?.[service]?.[which === 'previous' ? 0 : 1];
  if (number === undefined) {
    throw new ValidationError(
      `plan.services.${environment}.${service}: the plan has no ${which} revision for this service; start a new execution so Plan records it.`,
    );
  }
  return `${configured.family}:${number}`;
}

/** The ARN partition of a Region: `aws-cn` in China, `aws-us-gov` in GovCloud, `aws` elsewhere. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The full ARN of `service`'s task definition in `environment`, before or after the release,
 * as CodeDeploy's AppSpec takes it: the configured family and the plan's revision number, in
 * the environment's Region and the plan's account.
 */
export function serviceTaskDefinitionArn(
  config: DeployConfig,
  plan: Pick<Plan, 'services' | 'account'>,
  environment: string,
  service: string,
  which: 'previous' | 'next',
): TaskDefinitionArn {
  const revision = serviceRevision(config, plan, environment, service, which);
  const region = config.environments.find((env) => env.name === environment)?.region as string;
  return `arn:${partitionOf(region)}:ecs:${region}:${plan.account}:task-definition/${revision}`;
}

/** The deployments of `ids` as a list, in environment then service order of the record. */
export function deploymentRefs(ids: DeploymentIds): DeploymentRef[] {
  return Object.entries(ids).flatMap(([environment, byService]) =>
    Object.entries(byService).map(([service, deploymentId]) => ({ environment, service, deploymentId })),
  );
}

/** The deployments of `refs` keyed by environment, then service. */
export function deploymentIds(refs: ReadonlyArray<DeploymentRef>): DeploymentIds {
  const ids: DeploymentIds = {};
  for (const { environment, service, deploymentId } of refs) {
    ids[environment] = { ...ids[environment], [service]: deploymentId };
  }
  return ids;
}
