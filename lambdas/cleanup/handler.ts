import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describeRollback } from '../roll-back/core.js';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startWatch } from '../shared/lambda-context.js';
import { loggedHandler } from '../shared/logging.js';
import { cleanup, requireEveryGroupBack } from './core.js';
import { parseCleanupEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({
  sfn: SFNClient,
  ecs: ECSClient,
  codedeploy: CodeDeployClient,
  ssm: SSMClient,
});
const clock = systemClock();

/**
 * Cleanup: after an execution was aborted, timed out or failed, stops its tasks and rolls
 * back its deployments until each group is back. Logs each task stopped, each rollback, and
 * what it left alone.
 */
export const handler = loggedHandler('cleanup', async (event, log, context) => {
  const { detail } = parseCleanupEvent(event);
  const config = await loadConfig(clients);
  const report = await cleanup({ clients, clock, config }, detail, startWatch(config, clock, context));
  for (const { environment, taskArn } of report.stoppedTasks) {
    log.info(`${environment}: stopped ${taskArn}`, { environment, taskArn });
  }
  for (const ref of report.rollbacks) {
    if (ref.back === false)
      log.warn(`${describeRollback(ref)}: not back (${ref.status ?? 'unknown'})`, { ...ref });
    else log.info(describeRollback(ref), { ...ref });
  }
  requireEveryGroupBack(report);
  log.done(
    `${report.executionStatus} execution: ${report.stoppedTasks.length} tasks stopped, ${report.rollbacks.length} deployments rolled back${report.note ? `; ${report.note}` : ''}`,
    {
      executionStatus: report.executionStatus,
      stoppedTasks: report.stoppedTasks.length,
      rollbacks: report.rollbacks.length,
      note: report.note,
    },
  );
  return report;
});
