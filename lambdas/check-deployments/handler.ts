import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { type LambdaContext, startWatch } from '../shared/lambda-context.js';
import type { DeployState } from '../shared/types.js';
import { checkDeployments } from './core.js';
import { parseCheckDeploymentsEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration, CloudWatch for the wave's
// alarms): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, cloudwatch: CloudWatchClient, ssm: SSMClient });
const clock = systemClock();

/** CheckDeployments: watches the wave's deployments and alarms until they are decided, or the watch ends. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<DeployState> => {
  const { state } = parseCheckDeploymentsEvent(event);
  const config = await loadConfig(clients);
  return checkDeployments({ clients, clock, config }, state, startWatch(config, clock, context));
};
