import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { deploymentRefs } from '../shared/revisions.js';
import { checkDeployments } from './core.js';
import { parseCheckDeploymentsEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration, CloudWatch for the wave's
// alarms): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, cloudwatch: CloudWatchClient, ssm: SSMClient });
const clock = systemClock();

/**
 * CheckDeployments: watches the wave's deployments and alarms until they are decided, or the
 * watch ends. Logs the aggregate and each failure.
 */
export const handler = loggedHandler('check-deployments', async (event, log, context) => {
  const { state } = parseCheckDeploymentsEvent(event);
  const config = await loadConfig(clients);
  const result = await checkDeployments(
    { clients, clock, config },
    state,
    startWatch(config, clock, context),
  );
  for (const failure of result.failures) {
    log.warn(
      `${failure.environment}/${failure.service}: ${failure.deploymentId} ${failure.status}: ${failure.reason}`,
      {
        ...failure,
      },
    );
  }
  const total = deploymentRefs(result.deployments).length;
  const failed = result.failures.length;
  log.done(
    `deployments ${result.status}, ${failed ? `${failed} of ${total} failed` : `${total} deployments`}`,
    { status: result.status, deployments: total, failed },
    result.status === 'FAILED' ? 'warn' : 'info',
  );
  return result;
});
