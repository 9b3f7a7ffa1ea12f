import { GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import type { Clients } from '../shared/clients.js';
import type { DeployConfig } from '../shared/config.js';
import { environmentOf } from '../shared/ecs-tasks.js';
import { ValidationError } from '../shared/errors.js';
import type { PlannedWave } from '../shared/types.js';
import { configuredWaves, hasReadyWait } from '../shared/waves.js';

/**
 * The waves of a run: the configured waves with the run's environments only (a wave left
 * empty is dropped), each with how its traffic moves. The construct decided that at synth
 * for the deployment groups it defines; for a wave with groups it could not read (imported
 * ones), Plan reads every group of the wave (GetDeploymentGroup): `verify` (cut-over together
 * was asked for) refuses the run, naming the groups and the fix, unless every one waits in
 * Ready (ready option STOP_DEPLOYMENT); `detect` cuts over together when every one does, and
 * independently otherwise. Nothing is started before this passed.
 */
export async function planWaves(
  clients: Pick<Clients, 'codedeploy'>,
  config: DeployConfig,
  environments: readonly string[],
): Promise<PlannedWave[]> {
  const wanted = new Set(environments);
  const waves = configuredWaves(config)
    .map((wave) => ({ ...wave, environments: wave.environments.filter((name) => wanted.has(name)) }))
    .filter((wave) => wave.environments.length > 0);
  return Promise.all(
    waves.map(async ({ environments: names, cutover }): Promise<PlannedWave> => {
      if (cutover === 'together' || cutover === 'independent') return { environments: names, cutover };
      const groups = names.flatMap((name) => {
        const environment = environmentOf(config, name, 'waves.environments');
        return environment.services.map((service) => ({ environment, service }));
      });
      const waiting = await Promise.all(
        groups.map(async ({ environment, service }) => {
          const { deploymentGroupInfo } = await clients.codedeploy(environment.region).send(
            new GetDeploymentGroupCommand({
              applicationName: service.application,
              deploymentGroupName: service.deploymentGroup,
            }),
          );
          return deploymentGroupInfo !== undefined && hasReadyWait(deploymentGroupInfo);
        }),
      );
      const without = groups.filter((_, index) => !waiting[index]);
      if (without.length === 0) return { environments: names, cutover: 'together' };
      if (cutover === 'detect') return { environments: names, cutover: 'independent' };
      const listed = without
        .map(
          ({ environment, service }) =>
            `${service.application}/${service.deploymentGroup} (${environment.name}/${service.name}, ${environment.region})`,
        )
        .join(', ');
      throw new ValidationError(
        `The wave of ${names.join(', ')} cuts over together (cutover: 'together'), which needs every deployment ` +
          `group to wait in Ready for ContinueDeployment, but ${listed} ${without.length === 1 ? 'has' : 'have'} no ready wait ` +
          '(its deploymentReadyOption is not STOP_DEPLOYMENT). Nothing was started. Give each group a deployment ' +
          "approval wait (blueGreenDeploymentConfig.deploymentApprovalWaitTime, or `aws deploy update-deployment-group --blue-green-deployment-configuration 'deploymentReadyOption={actionOnTimeout=STOP_DEPLOYMENT,waitTimeInMinutes=60}'`), " +
          "or set the orchestrator's cutover to 'independent'.",
      );
    }),
  );
}
