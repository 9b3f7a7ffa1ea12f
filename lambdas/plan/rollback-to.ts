import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  paginateListExecutions,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { isErrorNamed } from '../shared/aws-errors.js';
import type { Clients } from '../shared/clients.js';
import type { EnvironmentConfig } from '../shared/config.js';
import { chunk, revisionOf } from '../shared/ecs-tasks.js';
import { ValidationError } from '../shared/errors.js';
import { parseJsonOrUndefined } from '../shared/json.js';
import { TAGS } from '../shared/markers.js';
import { PlanSchema } from '../shared/schemas.js';
import type { Plan } from '../shared/types.js';
import { findTaggedRevision, isTaggedWith, type TaskDefinitions } from './task-definitions.js';

/**
 * How many of the state machine's SUCCEEDED executions Plan looks through, newest first, for
 * the release to roll back to. Step Functions keeps an execution 90 days after it ended.
 */
export const ROLLBACK_SEARCH_LIMIT = 200;

/** How many revisions of a family Plan searches for the release's tag when the release's own plan does not name one. */
export const ROLLBACK_TAG_SEARCH_LIMIT = 50;

/** DescribeExecution calls in flight at once while searching. */
const DESCRIBE_CONCURRENCY = 10;

/** The execution through which the release to roll back to succeeded. */
export interface SucceededRelease {
  release: string;
  executionArn: string;
  /** The plan that execution recorded (its revisions), when its output holds one this version reads. */
  plan?: Plan;
}

/**
 * The newest SUCCEEDED execution of the state machine whose input released `release`; a
 * `ValidationError` naming the field when there is none among the newest
 * `ROLLBACK_SEARCH_LIMIT`, or when that execution was itself a rollback.
 */
export async function findSucceededRelease(
  sfn: SFNClient,
  stateMachineArn: string,
  release: string,
): Promise<SucceededRelease> {
  const pages = paginateListExecutions(
    { client: sfn },
    { stateMachineArn, statusFilter: 'SUCCEEDED', maxResults: 100 },
  );
  let searched = 0;
  for await (const page of pages) {
    const listed = (page.executions ?? []).slice(0, ROLLBACK_SEARCH_LIMIT - searched);
    searched += listed.length;
    for (const batch of chunk(listed, DESCRIBE_CONCURRENCY)) {
      const described = await Promise.all(batch.map((item) => describe(sfn, item)));
      for (const { item, execution } of described) {
        const input = parseJsonOrUndefined(execution.input) as
          | { release?: unknown; rollbackTo?: unknown }
          | undefined;
        if (input?.release !== release || execution.status !== 'SUCCEEDED') continue;
        if (typeof input.rollbackTo === 'string') {
          throw new ValidationError(
            `input.rollbackTo: release "${release}" was itself a rollback to release "${input.rollbackTo}" ` +
              `(${item.executionArn}); give rollbackTo "${input.rollbackTo}" to deploy those revisions again.`,
          );
        }
        const output = parseJsonOrUndefined(execution.output) as { plan?: unknown } | undefined;
        const plan = PlanSchema.safeParse(output?.plan);
        return {
          release,
          executionArn: item.executionArn as string,
          plan: plan.success ? plan.data : undefined,
        };
      }
    }
    if (searched >= ROLLBACK_SEARCH_LIMIT) break;
  }
  throw new ValidationError(
    `input.rollbackTo: release "${release}" never succeeded: no SUCCEEDED execution of this state machine ` +
      `released it, among the newest ${searched} succeeded ones (Step Functions keeps an execution 90 days ` +
      'after it ended). Name a release that succeeded (`stepdeploy history` lists them).',
  );
}

async function describe(
  sfn: SFNClient,
  item: ExecutionListItem,
): Promise<{ item: ExecutionListItem; execution: DescribeExecutionCommandOutput }> {
  return {
    item,
    execution: await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn })),
  };
}

/** One service of the rollback: where it is, and the configuration naming its family. */
export interface RollbackService {
  environment: EnvironmentConfig;
  service: string;
  family: string;
}

/** An (environment, service) with the revision number the rollback deploys, or why it cannot. */
type Resolved = { ok: true; number: number } | { ok: false; problem: string };

/**
 * Per environment and service, the revision number of the task definition `target` registered:
 * the one its plan recorded when it still carries the release's tag, else the newest ACTIVE
 * revision of the family tagged with it. Every revision that is missing (never tagged,
 * deregistered, deleted; or an environment the release never went to) is named in one
 * `ValidationError`; nothing is deployed then.
 */
export async function rollbackRevisions(
  clients: Pick<Clients, 'ecs'>,
  describer: TaskDefinitions,
  target: SucceededRelease,
  services: readonly RollbackService[],
): Promise<Map<string, number>> {
  const { release } = target;
  const resolve = async ({ environment, service, family }: RollbackService): Promise<Resolved> => {
    const where = `${environment.name}/${service}`;
    if (target.plan && !target.plan.environments.includes(environment.name)) {
      return {
        ok: false,
        problem: `${environment.name}: release ${release} was not deployed to this environment (it went to ${target.plan.environments.join(', ')}); leave ${environment.name} out of input.environments`,
      };
    }
    const recorded = target.plan?.services[environment.name]?.[service]?.[1];
    if (recorded !== undefined) {
      const revision = `${family}:${recorded}`;
      try {
        const described = await describer.describe(environment.region, revision);
        if (isTaggedWith(described, release)) {
          if (described.taskDefinition.status === 'ACTIVE') return { ok: true, number: recorded };
          return {
            ok: false,
            problem: `${where}: ${revision}, the revision release ${release} deployed, was deregistered (status ${described.taskDefinition.status}), and ECS deploys no INACTIVE task definition`,
          };
        }
      } catch (error) {
        if (!isErrorNamed(error, 'ClientException')) throw error;
        return {
          ok: false,
          problem: `${where}: ${revision}, the revision release ${release} deployed, no longer exists in ${environment.region}`,
        };
      }
    }
    const arn = await findTaggedRevision(
      clients.ecs(environment.region),
      describer,
      environment.region,
      family,
      release,
      ROLLBACK_TAG_SEARCH_LIMIT,
    );
    if (arn) return { ok: true, number: Number(revisionOf(arn).split(':').pop()) };
    return {
      ok: false,
      problem: `${where}: no ACTIVE revision of ${family} among its newest ${ROLLBACK_TAG_SEARCH_LIMIT} is tagged ${TAGS.release}=${release} (deregistered, or never registered by that release)`,
    };
  };
  const resolved = await Promise.all(services.map(resolve));
  // An environment the release never went to is named once, not once per service.
  const problems = [...new Set(resolved.flatMap((result) => (result.ok ? [] : [result.problem])))];
  if (problems.length > 0) {
    throw new ValidationError(
      `input.rollbackTo: cannot roll back to release ${release} (${target.executionArn}), nothing was started:\n` +
        `${problems.map((problem) => `  ${problem}`).join('\n')}\n` +
        'Roll back to another release that succeeded, or release its images again under a new release name.',
    );
  }
  return new Map(
    services.map((entry, index) => {
      const result = resolved[index] as { ok: true; number: number };
      return [`${entry.environment.name}/${entry.service}`, result.number];
    }),
  );
}
