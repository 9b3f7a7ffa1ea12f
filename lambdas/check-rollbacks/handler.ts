import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { checkRollbacks } from './core.js';
import { parseCheckRollbacksEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/**
 * CheckRollbacks: follows every rollback of the run until all are terminal or the watch
 * ends. Logs each rollback that ended and the aggregate.
 */
export const handler = loggedHandler('check-rollbacks', async (event, log, context) => {
  const { state } = parseCheckRollbacksEvent(event);
  const config = await loadConfig(clients);
  const result = await checkRollbacks({ clients, clock, config }, state, startWatch(config, clock, context));
  for (const ref of result.rollbacks) {
    if (ref.status === undefined) continue;
    const line = `${ref.environment}/${ref.service}: rollback of ${ref.deploymentId} ${ref.status}`;
    if (ref.status === 'Succeeded' || ref.action === 'none') log.info(line, { ...ref });
    else log.warn(line, { ...ref });
  }
  const ended = result.rollbacks.filter((ref) => ref.status !== undefined).length;
  log.done(
    `rollbacks ${result.status}, ${ended} of ${result.rollbacks.length} ended`,
    { status: result.status, rollbacks: result.rollbacks.length, ended },
    result.status === 'FAILED' ? 'warn' : 'info',
  );
  return result;
});
