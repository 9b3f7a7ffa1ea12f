import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { LambdaContext } from '../shared/lambda-context.js';
import { parseOrThrow } from '../shared/schemas.js';
import type { Plan } from '../shared/types.js';
import { plan } from './core.js';
import { PlanEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({
  codedeploy: CodeDeployClient,
  ecs: ECSClient,
  sfn: SFNClient,
  ssm: SSMClient,
});
const clock = systemClock();

/** Plan: validates the release input, refuses foreign deployments and registers its task definition revisions. */
export const handler = async (event: unknown, _context?: LambdaContext): Promise<Plan> =>
  plan(parseOrThrow(PlanEventSchema, event, 'event'), { clients, clock, config: await loadConfig(clients) });
