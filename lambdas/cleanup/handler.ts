import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { type CleanupReport, cleanup } from './core.js';
import { parseCleanupEvent } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({
  sfn: SFNClient,
  ecs: ECSClient,
  codedeploy: CodeDeployClient,
  ssm: SSMClient,
});
const clock = systemClock();

/** Cleanup: after an execution was aborted, timed out or failed, stops its tasks and rolls back its deployments. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<CleanupReport> => {
  const { detail } = parseCleanupEvent(event);
  return cleanup({ clients, clock, config: await loadConfig(clients) }, detail);
};
