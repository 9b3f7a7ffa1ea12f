import { ContinueDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  type ContainerDefinition,
  DescribeServicesCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { type ExecutionListItem, paginateListExecutions } from '@aws-sdk/client-sfn';
import { failureOf, inCall, inPlace, isTransient } from '../shared/aws-errors.js';
import { listSome } from '../shared/bounds.js';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig, EnvironmentConfig } from '../shared/config.js';
import {
  type EarlierReleaseWait,
  earlierReleaseWaits,
  refuseForeignDeployments,
  surveyDeploymentGroups,
} from '../shared/deployments.js';
import { chunk, environmentOf, regionOfArn, revisionOf } from '../shared/ecs-tasks.js';
import {
  DeployInProgressError,
  ForeignDeploymentError,
  TransientError,
  ValidationError,
} from '../shared/errors.js';
import { runIdOf, TAGS } from '../shared/markers.js';
import { deploymentIds } from '../shared/revisions.js';
import type { EndedWait, NewReleaseInput, Plan, Revision, ServiceRevisions } from '../shared/types.js';
import { findSucceededRelease, rollbackRevisions, type SucceededRelease } from './rollback-to.js';
import { type PlanEvent, parseReleaseInput } from './schema.js';
import { type Described, findTaggedRevision, once, TaskDefinitions } from './task-definitions.js';
import { planWaves } from './waves.js';

/**
 * The clients Plan calls: ECS, Step Functions to see the other executions, and CodeDeploy
 * to see the deployment groups' active deployments.
 */
export type PlanClients = Pick<Clients, 'ecs' | 'sfn' | 'codedeploy'>;

/** What Plan needs from the outside world. */
export interface PlanDeps {
  clients: PlanClients;
  clock: Clock;
  config: DeployConfig;
}

/** DescribeServices takes at most 10 services per call. */
const DESCRIBE_SERVICES_BATCH = 10;
/** How many of a family's newest revisions are searched for one this release registered. */
export const REUSE_SEARCH_LIMIT = 10;

/** What one environment runs now: the bases the new revisions are made from. */
interface Current {
  environment: EnvironmentConfig;
  services: Array<{ name: string; base: Described }>;
  oneOff: Described;
}

/** What Plan did for one task definition of the release. */
export interface RevisionDecision {
  environment: string;
  /** The service; absent for the environment's one-off task definition (migrations and steps). */
  service?: string;
  /** The revision it runs now, which the new one is made from. */
  base: Revision;
  /** The release's revision. */
  revision: Revision;
  /**
   * `registered` by this Plan, or `reused`: an earlier attempt of the release registered it (tagged,
   * same images), or `rollback`: the revision the release rolled back to registered.
   */
  action: 'registered' | 'reused' | 'rollback';
}

/** Plan's result and the decisions behind it, which the state does not carry (the handler logs them). */
export interface PlanOutcome {
  plan: Plan;
  /** Per environment, its one-off task definition and each service's, in configuration order. */
  revisions: RevisionDecision[];
}

/**
 * Validates the execution input, refuses to run beside another execution or while a
 * deployment group of the release has a foreign active deployment, records what every
 * service runs now and registers (or reuses) the release's task definition revisions; for a
 * rollback (`rollbackTo`), finds the revisions that earlier release registered instead, and
 * registers nothing. An earlier release's deployment still in its termination wait has the
 * wait ended (unless the configuration says to refuse it), last, once everything else passed.
 * Nothing is registered or ended before every check passed.
 */
export async function plan(event: PlanEvent, deps: PlanDeps): Promise<Plan> {
  return (await planRelease(event, deps)).plan;
}

/** {@link plan}, with the revision registered or reused for every task definition. */
export async function planRelease(event: PlanEvent, deps: PlanDeps): Promise<PlanOutcome> {
  const made: Revision[] = [];
  try {
    return await planOutcome(event, deps, made);
  } catch (error) {
    throw failureOf(
      error,
      'Plan',
      made.length === 0
        ? 'nothing was registered yet'
        : `registered (a retry reuses them, tagged with the release): ${listSome(made)}`,
    );
  }
}

/** {@link planRelease}, recording in `made` each revision it registers. */
async function planOutcome(event: PlanEvent, deps: PlanDeps, made: Revision[]): Promise<PlanOutcome> {
  const { clients, clock, config } = deps;
  const input = parseReleaseInput(event.input, config);
  await refuseConcurrentExecution(clients, event.stateMachineArn, event.executionArn);

  const names = input.environments ?? config.environments.map((environment) => environment.name);
  const environments = names.map((name) => environmentOf(config, name));
  const describer = new TaskDefinitions(clients);
  // All only read. A foreign deployment is refused here, before any step or migration runs,
  // rather than by StartDeployments once they all ran; this release's own active deployment
  // (an earlier attempt's) is left for StartDeployments to adopt.
  const [surveys, current, target, waves] = await Promise.all([
    surveyDeploymentGroups(
      clients,
      input.release,
      environments.flatMap((environment) =>
        environment.services.map((service) => ({ environment, service })),
      ),
    ),
    Promise.all(
      environments.map((environment) =>
        inPlace(environment.name, () => readEnvironment(environment, clients, describer)),
      ),
    ),
    input.rollbackTo === undefined
      ? undefined
      : findSucceededRelease(
          clients.sfn(regionOfArn(event.stateMachineArn)),
          event.stateMachineArn,
          input.rollbackTo,
        ),
    planWaves(clients, config, names),
  ]);
  if (input.rollbackTo === undefined) checkImagesHaveContainers(input.images, current);
  checkServiceFamilies(current);
  const account = accountOf(current);
  const waits =
    (config.onPreviousTerminationWait ?? 'continue') === 'continue' ? earlierReleaseWaits(surveys) : [];
  refuseForeignDeployments(
    input.release,
    surveys,
    'started nothing',
    new Set(waits.map((wait) => wait.deploymentId)),
  );

  interface Registered {
    name: string;
    oneOff?: Revision;
    services: Record<string, ServiceRevisions>;
    decisions: RevisionDecision[];
  }
  let registered: Registered[];
  if (input.rollbackTo !== undefined) {
    const revisions = await rollbackRevisions(
      clients,
      describer,
      target as SucceededRelease,
      current.flatMap(({ environment }) =>
        environment.services.map((service) => ({
          environment,
          service: service.name,
          family: service.family,
        })),
      ),
    );
    registered = current.map(({ environment, services }) => {
      const back = services.map(({ name, base }) => ({
        name,
        base,
        revision: revisions.get(`${environment.name}/${name}`) as number,
      }));
      return {
        name: environment.name,
        services: Object.fromEntries(
          back.map(({ name, base, revision }): [string, ServiceRevisions] => [
            name,
            [revisionNumberOf(base.taskDefinition.taskDefinitionArn), revision],
          ]),
        ),
        decisions: back.map(({ name, base, revision }) => ({
          environment: environment.name,
          service: name,
          base: revisionOf(base.taskDefinition.taskDefinitionArn),
          revision: `${base.taskDefinition.family}:${revision}`,
          action: 'rollback',
        })),
      };
    });
  } else {
    const registrar = new ReleaseRevisions(clients, describer, input, made);
    registered = await Promise.all(
      current.map(async ({ environment, services, oneOff }) => {
        const region = environment.region;
        const [next, ...nextServices] = await Promise.all([
          registrar.revisionFor(region, oneOff),
          ...services.map(({ base }) => registrar.revisionFor(region, base)),
        ]);
        const decision = (base: Described, made: MadeRevision, service?: string): RevisionDecision => ({
          environment: environment.name,
          ...(service === undefined ? {} : { service }),
          base: revisionOf(base.taskDefinition.taskDefinitionArn),
          revision: made.revision,
          action: made.reused ? 'reused' : 'registered',
        });
        const byService: Record<string, ServiceRevisions> = {};
        services.forEach(({ name, base }, index) => {
          byService[name] = [
            revisionNumberOf(base.taskDefinition.taskDefinitionArn),
            revisionNumberOf(nextServices[index].revision),
          ];
        });
        return {
          name: environment.name,
          oneOff: next.revision,
          services: byService,
          decisions: [
            decision(oneOff, next),
            ...services.map(({ name, base }, index) => decision(base, nextServices[index], name)),
          ],
        };
      }),
    );
  }
  const endedWaits = await endWaits(clients, input.release, waits);

  return {
    plan: {
      release: input.release,
      runId: runIdOf(event.executionArn),
      startedAt: new Date(clock.nowMs()).toISOString(),
      account,
      environments: names,
      // A rollback runs no task at all: StartTasks starts nothing for a plan with rollbackTo.
      skipMigrations: input.rollbackTo !== undefined || (input.skipMigrations ?? false),
      oneOff: Object.fromEntries(
        registered.flatMap(({ name, oneOff }) => (oneOff === undefined ? [] : [[name, oneOff]])),
      ),
      services: Object.fromEntries(registered.map(({ name, services }) => [name, services])),
      ...(input.rollbackTo !== undefined ? { rollbackTo: input.rollbackTo } : {}),
      ...(endedWaits.length > 0 ? { endedWaits } : {}),
      waves,
    },
    revisions: registered.flatMap(({ decisions }) => decisions),
  };
}

/**
 * ContinueDeployment can say the wait is over already: the deployment finished, or it was
 * continued before (by an earlier attempt, or by the previous release's RetireOldWorkers) and is
 * terminating its original tasks. Either way it is on its way out.
 */
const WAIT_ALREADY_ENDED = new Set([
  'DeploymentAlreadyCompletedException',
  'DeploymentIsNotInReadyStateException',
]);

/**
 * Ends the termination wait of each earlier release's deployment (ContinueDeployment
 * TERMINATION_WAIT): CodeDeploy then terminates its original tasks, and the group is free once
 * it finished. Returns them grouped by release, as the plan records them.
 */
export async function endWaits(
  clients: Pick<Clients, 'codedeploy'>,
  release: string,
  waits: readonly EarlierReleaseWait[],
): Promise<EndedWait[]> {
  const results = await Promise.allSettled(
    waits.map(async (wait) => {
      try {
        await clients.codedeploy(wait.group.environment.region).send(
          new ContinueDeploymentCommand({
            deploymentId: wait.deploymentId,
            deploymentWaitType: 'TERMINATION_WAIT',
          }),
        );
      } catch (error) {
        if (!(error instanceof Error && WAIT_ALREADY_ENDED.has(error.name))) throw error;
      }
    }),
  );
  const failed = results.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const { group, deploymentId, release: of } = waits[index];
    const cause =
      result.reason instanceof Error
        ? `${result.reason.name}: ${result.reason.message}`
        : String(result.reason);
    return [
      `${group.environment.name}/${group.service.name}: deployment ${deploymentId} of release ${of} (${cause}); end it with ` +
        `\`aws deploy continue-deployment --deployment-id ${deploymentId} --deployment-wait-type TERMINATION_WAIT ` +
        `--region ${group.environment.region}\``,
    ];
  });
  const rejected = results.filter((result) => result.status === 'rejected');
  if (rejected.length > 0 && rejected.every((result) => isTransient(result.reason))) {
    // Throttled or unavailable: Plan is idempotent, so the state machine's retry ends them.
    throw new TransientError(
      `Plan: ContinueDeployment failed after the SDK's retries: ${failed.join('; ')}. Nothing was decided: Plan is run again.`,
      { cause: rejected[0].reason },
    );
  }
  if (failed.length > 0) {
    throw new ForeignDeploymentError(
      `Release ${release} started nothing: the termination wait of earlier releases' deployments could not all be ended: ` +
        `${failed.join('; ')}. Then start the release again.`,
    );
  }
  const byRelease = new Map<string, EarlierReleaseWait[]>();
  for (const wait of waits) byRelease.set(wait.release, [...(byRelease.get(wait.release) ?? []), wait]);
  return [...byRelease].map(([of, ended]) => ({
    release: of,
    deployments: deploymentIds(
      ended.map((wait) => ({
        environment: wait.group.environment.name,
        service: wait.group.service.name,
        deploymentId: wait.deploymentId,
      })),
    ),
  }));
}

/**
 * The AWS account of every environment's services, read from the ARNs of the task definitions
 * they run: CodeDeploy's AppSpec names a task definition by its full ARN, and a deployment group
 * deploys to services of its own account. Services of several accounts are a `ValidationError`:
 * the handlers reach every environment with one role.
 */
export function accountOf(current: ReadonlyArray<Pick<Current, 'environment' | 'services'>>): string {
  const accounts = new Map<string, string>();
  for (const { environment, services } of current) {
    for (const { name, base } of services) {
      const account = base.taskDefinition.taskDefinitionArn.split(':')[4] ?? '';
      if (!accounts.has(account)) accounts.set(account, `${environment.name}/${name}`);
    }
  }
  const [first, ...others] = [...accounts];
  if (!first || !/^\d{12}$/.test(first[0]) || others.length > 0) {
    throw new ValidationError(
      `The services run task definitions of ${[...accounts].map(([account, where]) => `account "${account}" (${where})`).join(' and ')}; stepdeploy deploys within one AWS account: configure environments of the account the state machine runs in.`,
    );
  }
  return first[0];
}

/**
 * Throws `DeployInProgressError` naming a RUNNING execution of the state machine that
 * started before this one. Executions started after this one are left alone: their own
 * Plan sees this one and refuses, so of two releases started together exactly one goes on.
 * When this execution is not listed yet, any other running one blocks it.
 */
export async function refuseConcurrentExecution(
  clients: PlanClients,
  stateMachineArn: string,
  executionArn: string,
): Promise<void> {
  const sfn = clients.sfn(regionOfArn(stateMachineArn));
  const running: ExecutionListItem[] = [];
  const pages = paginateListExecutions(
    { client: sfn },
    { stateMachineArn, statusFilter: 'RUNNING', maxResults: 100 },
  );
  await inCall('ListExecutions', stateMachineArn, async () => {
    for await (const page of pages) running.push(...(page.executions ?? []));
  });
  const self = running.find((execution) => execution.executionArn === executionArn);
  const other = running
    .filter((execution) => execution.executionArn !== executionArn)
    .filter((execution) => !self || startedBefore(execution, self))
    .sort((a, b) => (startedBefore(a, b) ? -1 : 1))[0];
  if (other) {
    const since = other.startDate ? ` since ${other.startDate.toISOString()}` : '';
    throw new DeployInProgressError(
      `Execution "${other.name}" (${other.executionArn}) of this state machine is running${since}; ` +
        'one release runs at a time: wait for it to finish, or stop it, then start this release again.',
    );
  }
}

/** Start order, ties broken by ARN so that two executions never both come first. */
function startedBefore(a: ExecutionListItem, b: ExecutionListItem): boolean {
  const aMs = a.startDate?.getTime() ?? 0;
  const bMs = b.startDate?.getTime() ?? 0;
  return aMs !== bMs ? aMs < bMs : (a.executionArn ?? '') < (b.executionArn ?? '');
}

/** What an environment's services and one-off tasks run now. */
async function readEnvironment(
  environment: EnvironmentConfig,
  clients: PlanClients,
  describer: TaskDefinitions,
): Promise<Current> {
  const ecs = clients.ecs(environment.region);
  const [running, oneOff] = await Promise.all([
    currentServiceDefinitions(ecs, environment),
    describer.describe(environment.region, environment.taskDefinition),
  ]);
  const services = await Promise.all(
    running.map(async ({ name, taskDefinition }) => ({
      name,
      base: await describer.describe(environment.region, taskDefinition),
    })),
  );
  return { environment, services, oneOff };
}

/** Per configured service, the task definition ARN it runs now (its primary task set's, under CodeDeploy). */
async function currentServiceDefinitions(
  ecs: ECSClient,
  environment: EnvironmentConfig,
): Promise<Array<{ name: string; taskDefinition: string }>> {
  const wanted = environment.services.map((service) => service.service);
  const pages = await Promise.all(
    chunk(wanted, DESCRIBE_SERVICES_BATCH).map((services) =>
      inCall('DescribeServices', `${environment.name} (cluster ${environment.cluster})`, () =>
        ecs.send(new DescribeServicesCommand({ cluster: environment.cluster, services })),
      ),
    ),
  );
  const running = new Map<string, string>();
  for (const page of pages) {
    for (const service of page.services ?? []) {
      const primary = service.taskSets?.find((taskSet) => taskSet.status === 'PRIMARY')?.taskDefinition;
      const taskDefinition = primary ?? service.taskDefinition;
      if (taskDefinition && service.status === 'ACTIVE') {
        // The configuration may name a service by name or by ARN.
        for (const key of [service.serviceName, service.serviceArn]) {
          if (key) running.set(key, taskDefinition);
        }
      }
    }
  }
  const missing = wanted.filter((service) => !running.has(service));
  if (missing.length > 0) {
    throw new ValidationError(
      `Environment "${environment.name}": service(s) ${missing.join(', ')} not found active in cluster ` +
        `"${environment.cluster}" (${environment.region}); create them or fix the environment's services in the configuration.`,
    );
  }
  return environment.services.flatMap((service) => {
    const taskDefinition = running.get(service.service);
    return taskDefinition ? [{ name: service.name, taskDefinition }] : [];
  });
}

/**
 * The plan records revision numbers only, the family coming from the configuration: a
 * service running another family than the configured one would be deployed and rolled back
 * to the wrong task definition, so it is refused before anything is registered.
 */
function checkServiceFamilies(current: Current[]): void {
  const problems = current.flatMap(({ environment, services }) =>
    services.flatMap(({ name, base }) => {
      const configured = environment.services.find((service) => service.name === name)?.family;
      const running = base.taskDefinition.family;
      return configured === undefined || configured === running
        ? []
        : [
            `Service "${environment.name}/${name}" runs task definition family "${running}" but the configuration ` +
              `names "${configured}": deploy the service with the configured family, or set the service's ` +
              'task definition in the DeployOrchestrator to the one it runs.',
          ];
    }),
  );
  if (problems.length > 0) throw new ValidationError(problems.join('\n'));
}

/** The revision number of a task definition ARN or `family:revision`. */
function revisionNumberOf(taskDefinition: string): number {
  const revision = revisionOf(taskDefinition);
  return Number(revision.slice(revision.lastIndexOf(':') + 1));
}

/** An image for a container no task definition of the run has is a typo: refuse it before registering anything. */
function checkImagesHaveContainers(images: Record<string, string>, current: Current[]): void {
  const containers = new Set<string>();
  for (const { services, oneOff } of current) {
    for (const described of [oneOff, ...services.map((service) => service.base)]) {
      for (const container of described.taskDefinition.containerDefinitions ?? []) {
        if (container.name) containers.add(container.name);
      }
    }
  }
  const problems = Object.keys(images)
    .filter((name) => !containers.has(name))
    .map(
      (name) =>
        `input.images.${name}: no task definition of this release has a container "${name}"; ` +
        `containers: ${[...containers].sort().join(', ')}`,
    );
  if (problems.length > 0) throw new ValidationError(problems.join('\n'));
}

/** The container definitions with the release's images put in. */
export function withImages(
  containers: ContainerDefinition[],
  images: Record<string, string>,
): ContainerDefinition[] {
  return containers.map((container) => {
    const image = container.name === undefined ? undefined : images[container.name];
    return image === undefined ? container : { ...container, image };
  });
}

/** Whether a registered definition already carries the release's images. */
function hasImages(definition: TaskDefinition, images: Record<string, string>): boolean {
  return (definition.containerDefinitions ?? []).every(
    (container) =>
      container.name === undefined ||
      images[container.name] === undefined ||
      container.image === images[container.name],
  );
}

/**
 * The request that registers `base` again with the release's images and tag: every field
 * RegisterTaskDefinition takes, none of the read-only ones (ARN, revision, status, dates).
 */
export function registrationOf(
  base: Described,
  release: string,
  images: Record<string, string>,
): RegisterTaskDefinitionCommandInput {
  const definition = base.taskDefinition;
  // `aws:` tags belong to AWS and cannot be set; the old release tag gives way to this one.
  const tags = base.tags.filter((tag) => !tag.key?.startsWith('aws:') && tag.key !== TAGS.release);
  return {
    family: definition.family,
    taskRoleArn: definition.taskRoleArn,
    executionRoleArn: definition.executionRoleArn,
    networkMode: definition.networkMode,
    containerDefinitions: withImages(definition.containerDefinitions ?? [], images),
    volumes: definition.volumes,
    placementConstraints: definition.placementConstraints,
    requiresCompatibilities: definition.requiresCompatibilities,
    cpu: definition.cpu,
    memory: definition.memory,
    pidMode: definition.pidMode,
    ipcMode: definition.ipcMode,
    proxyConfiguration: definition.proxyConfiguration,
    inferenceAccelerators: definition.inferenceAccelerators,
    ephemeralStorage: definition.ephemeralStorage,
    runtimePlatform: definition.runtimePlatform,
    enableFaultInjection: definition.enableFaultInjection,
    tags: [...tags, { key: TAGS.release, value: release }],
  };
}

/** A revision of the release, and whether an earlier attempt registered it. */
interface MadeRevision {
  revision: Revision;
  reused: boolean;
}

/** Registers each base once per Plan, or reuses the revision an earlier attempt of this release registered. */
class ReleaseRevisions {
  readonly #made = new Map<string, Promise<MadeRevision>>();
  constructor(
    private readonly clients: PlanClients,
    private readonly describer: TaskDefinitions,
    private readonly input: NewReleaseInput,
    /** Where each revision this Plan registers is recorded, for the message of a Plan that fails. */
    private readonly registered: Revision[],
  ) {}

  revisionFor(region: string, base: Described): Promise<MadeRevision> {
    // Services (or environments in one Region) sharing a definition share its new revision.
    const key = `${region}|${base.taskDefinition.taskDefinitionArn}`;
    return once(this.#made, key, () => this.#reuseOrRegister(region, base));
  }

  async #reuseOrRegister(region: string, base: Described): Promise<MadeRevision> {
    const reused = await this.#findTagged(region, base.taskDefinition.family);
    if (reused) return { revision: reused, reused: true };
    const output = await inCall('RegisterTaskDefinition', `${base.taskDefinition.family} (${region})`, () =>
      this.clients
        .ecs(region)
        .send(new RegisterTaskDefinitionCommand(registrationOf(base, this.input.release, this.input.images))),
    );
    const arn = output.taskDefinition?.taskDefinitionArn;
    if (!arn)
      throw new Error(
        `RegisterTaskDefinition for family "${base.taskDefinition.family}" in ${region} returned no ARN.`,
      );
    this.registered.push(revisionOf(arn));
    return { revision: revisionOf(arn), reused: false };
  }

  /** The newest revision of `family` tagged with this release and carrying its images, if any. */
  async #findTagged(region: string, family: string): Promise<Revision | undefined> {
    const arn = await findTaggedRevision(
      this.clients.ecs(region),
      this.describer,
      region,
      family,
      this.input.release,
      REUSE_SEARCH_LIMIT,
      ({ taskDefinition }) => hasImages(taskDefinition, this.input.images),
    );
    return arn === undefined ? undefined : revisionOf(arn);
  }
}
