import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { waveRefs } from '../shared/waves.js';
import { cutOver } from './core.js';
import { parseCutOverEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/**
 * CutOver: moves production traffic on every deployment of the wave at once, once all are
 * Ready. Logs the outcome and each deployment that kept the wave from cutting over.
 */
export const handler = loggedHandler('cut-over', async (event, log) => {
  const { state } = parseCutOverEvent(event);
  const result = await cutOver({ clients, clock, config: await loadConfig(clients) }, state);
  for (const failure of result.failures) {
    log.warn(
      `${failure.environment}/${failure.service}: ${failure.deploymentId} ${failure.status}: ${failure.reason}`,
      { ...failure },
    );
  }
  const total = waveRefs(result).length;
  const what = result.wave?.cutOverAt
    ? `continued ${total} deployments at once`
    : result.status === 'FAILED'
      ? `${result.failures.length} of ${total} deployments failed before the cut-over: none continued`
      : 'not every deployment is Ready yet: none continued';
  log.done(
    what,
    { status: result.status, deployments: total, failed: result.failures.length },
    result.status === 'FAILED' ? 'warn' : 'info',
  );
  return result;
});
