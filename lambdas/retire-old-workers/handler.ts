import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { waveOf } from '../shared/waves.js';
import { retireOldWorkers } from './core.js';
import { parseRetireOldWorkersEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/**
 * RetireOldWorkers: once a wave's traffic moved, ends the termination wait of its worker
 * services' deployments. Logs each worker's action and its reason.
 */
export const handler = loggedHandler('retire-old-workers', async (event, log) => {
  const { state } = parseRetireOldWorkersEvent(event);
  const report = await retireOldWorkers({ clients, clock, config: await loadConfig(clients) }, state);
  // The report keeps the earlier waves' workers; this invocation decided for the current wave's.
  const wave = state.deploy ? new Set(waveOf(state.deploy).environments) : undefined;
  const decided = report.workers.filter((worker) => wave === undefined || wave.has(worker.environment));
  for (const worker of decided) {
    const what =
      worker.action === 'continue-deployment'
        ? `end the termination wait of ${worker.deploymentId}`
        : 'nothing to do';
    log.info(`${worker.environment}/${worker.service}: ${what}: ${worker.reason}`, { ...worker });
  }
  const retired = decided.filter((worker) => worker.action === 'continue-deployment').length;
  log.done(`${retired} of ${decided.length} worker deployments retired their old tasks`, {
    workers: decided.length,
    retired,
  });
  return report;
});
