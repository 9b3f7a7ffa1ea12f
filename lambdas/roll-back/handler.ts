import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import type { DeployConfig } from '../shared/config.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { serviceRevision } from '../shared/revisions.js';
import type { Plan, RollbackRef } from '../shared/types.js';
import { describeRollback, redeployNotBack, rollBack } from './core.js';
import { parseRollBackEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({ codedeploy: CodeDeployClient, ssm: SSMClient });
const clock = systemClock();

/** The revision a redeploy brings back, for the log; absent when the plan does not record it. */
function previousRevision(config: DeployConfig, plan: Plan, ref: RollbackRef): string | undefined {
  try {
    return serviceRevision(config, plan, ref.environment, ref.service, 'previous');
  } catch {
    return undefined;
  }
}

/**
 * RollBack: starts the rollback of every deployment of the run, or, sent back by AwaitRollbacks
 * (`REDEPLOY`), deploys the previous revision where a rollback did not get back; logs each
 * decision and why.
 */
export const handler = loggedHandler('roll-back', async (event, log) => {
  const { state } = parseRollBackEvent(event);
  const config = await loadConfig(clients);
  const deps = { clients, clock, config };
  const result =
    state.rollback?.status === 'REDEPLOY'
      ? await redeployNotBack(deps, state.plan, state.rollback)
      : await rollBack(deps, state);
  for (const ref of result.rollbacks) {
    const previous = ref.action === 'redeploy' ? previousRevision(config, state.plan, ref) : undefined;
    const line = describeRollback(ref, previous);
    const fields = { ...ref, previousRevision: previous };
    if (ref.action === 'none' && ref.status === 'Missing') log.warn(line, fields);
    else log.info(line, fields);
  }
  log.done(`rolling back ${result.rollbacks.length} deployments: ${result.status}`, {
    status: result.status,
    rollbacks: result.rollbacks.length,
  });
  return result;
});
