import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createClients } from '../shared/clients.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { loggedHandler } from '../shared/logging.js';
import { deploymentRefs } from '../shared/revisions.js';
import { parseOrThrow } from '../shared/schemas.js';
import { planRelease, type RevisionDecision } from './core.js';
import { PlanEventSchema } from './schema.js';

// Only the clients this handler calls (SSM for its configuration): each SDK package adds to the cold start.
const clients = createClients({
  codedeploy: CodeDeployClient,
  ecs: ECSClient,
  sfn: SFNClient,
  ssm: SSMClient,
});
const clock = systemClock();

/**
 * Plan: validates the release input, refuses foreign deployments and registers its task
 * definition revisions. Logs each revision registered or reused; a refusal is logged with
 * its reason as the invocation's error.
 */
export const handler = loggedHandler('plan', async (event, log) => {
  const { plan, revisions } = await planRelease(parseOrThrow(PlanEventSchema, event, 'event'), {
    clients,
    clock,
    config: await loadConfig(clients),
  });
  for (const { environment, service, base, revision, action } of revisions) {
    log.info(`${environment}/${service ?? 'one-off'}: ${action} ${revision} (from ${base})`, {
      environment,
      service,
      action,
      taskDefinition: revision,
      base,
    });
  }
  for (const { release, deployments } of plan.endedWaits ?? []) {
    for (const { environment, service, deploymentId } of deploymentRefs(deployments)) {
      log.info(
        `${environment}/${service}: ended the termination wait of ${release}'s deployment ${deploymentId}`,
        {
          environment,
          service,
          deploymentId,
          endedWaitOf: release,
        },
      );
    }
  }
  const count = (action: RevisionDecision['action']) =>
    revisions.filter((decision) => decision.action === action).length;
  const [registered, reused] = [count('registered'), count('reused')];
  log.done(
    plan.rollbackTo === undefined
      ? `planned ${plan.environments.join(', ')}: ${registered} revisions registered, ${reused} reused`
      : `planned ${plan.environments.join(', ')}: rollback to ${plan.rollbackTo}, ${count('rollback')} services`,
    {
      environments: plan.environments,
      runId: plan.runId,
      registered,
      reused,
      ...(plan.rollbackTo === undefined ? {} : { rollbackTo: plan.rollbackTo }),
    },
  );
  return plan;
});
