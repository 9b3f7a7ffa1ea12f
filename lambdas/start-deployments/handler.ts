import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { waveRefs } from '../shared/waves.js';
import { startDeployments } from './core.js';
import { parseStartDeploymentsEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** StartDeployments: one CodeDeploy deployment per (environment, service) of the plan's next wave; logs each. */
export const handler = loggedHandler('start-deployments', async (event, log, context) => {
  const { state: run } = parseStartDeploymentsEvent(event);
  const config = await loadConfig(clients);
  const state = await startDeployments({ clients, clock, config }, run, startWatch(config, clock, context));
  const refs = waveRefs(state);
  for (const { environment, service, deploymentId } of refs) {
    log.info(`${environment}/${service}: deployment ${deploymentId}`, { environment, service, deploymentId });
  }
  log.done(`${refs.length} deployments in flight`, { status: state.status, deployments: refs.length });
  return state;
});
