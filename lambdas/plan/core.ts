import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  paginateListTaskDefinitions,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { type ExecutionListItem, paginateListExecutions } from '@aws-sdk/client-sfn';
import type { Clients } from '../shared/clients.js';
import type { Clock } from '../shared/clock.js';
import type { DeployConfig, EnvironmentConfig } from '../shared/config.js';
import { refuseForeignDeployments, surveyDeploymentGroups } from '../shared/deployments.js';
import { chunk, environmentOf, familyOf, regionOfArn, revisionOf } from '../shared/ecs-tasks.js';
import { DeployInProgressError, ValidationError } from '../shared/errors.js';
import { runIdOf, TAGS } from '../shared/markers.js';
import type { Plan, ReleaseInput, Revision, ServiceRevisions } from '../shared/types.js';
import { type PlanEvent, parseReleaseInput } from './schema.js';
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

/** A task definition with its tags, as DescribeTaskDefinition (include TAGS) returns it. */
interface Described {
  taskDefinition: TaskDefinition & { taskDefinitionArn: string; family: string };
  tags: Tag[];
}

/** What one environment runs now: the bases the new revisions are made from. */
interface Current {
  environment: EnvironmentConfig;
  services: Array<{ name: string; base: Described }>;
  oneOff: Described;
}

/**
 * Validates the execution input, refuses to run beside another execution or while a
 * deployment group of the release has a foreign active deployment, records what every
 * service runs now and registers (or reuses) the release's task definition revisions.
 * Nothing is registered before every check passed.
 */
export async function plan(event: PlanEvent, deps: PlanDeps): Promise<Plan> {
  const { clients, clock, config } = deps;
  const input = parseReleaseInput(event.input, config);
  await refuseConcurrentExecution(clients, event.stateMachineArn, event.executionArn);

  const names = input.environments ?? config.environments.map((environment) => environment.name);
  const environments = names.map((name) => environmentOf(config, name));
  const describer = new TaskDefinitions(clients);
  // Both only read. A foreign deployment is refused here, before any step or migration runs,
  // rather than by StartDeployments once they all ran; this release's own active deployment
  // (an earlier attempt's) is left for StartDeployments to adopt.
  const [surveys, current, waves] = await Promise.all([
    surveyDeploymentGroups(
      clients,
      input.release,
      environments.flatMap((environment) =>
        environment.services.map((service) => ({ environment, service })),
      ),
    ),
    Promise.all(environments.map((environment) => readEnvironment(environment, clients, describer))),
    planWaves(clients, config, names),
  ]);
  checkImagesHaveContainers(input.images, current);
  checkServiceFamilies(current);
  const account = accountOf(current);
  refuseForeignDeployments(input.release, surveys, 'started nothing');

  const registrar = new ReleaseRevisions(clients, describer, input);
  const registered = await Promise.all(
    current.map(async ({ environment, services, oneOff }) => {
      const region = environment.region;
      const [next, ...nextServices] = await Promise.all([
        registrar.revisionFor(region, oneOff),
        ...services.map(({ base }) => registrar.revisionFor(region, base)),
      ]);
      const byService: Record<string, ServiceRevisions> = {};
      services.forEach(({ name, base }, index) => {
        byService[name] = [
          revisionNumberOf(base.taskDefinition.taskDefinitionArn),
          revisionNumberOf(nextServices[index]),
        ];
      });
      return { name: environment.name, oneOff: next, services: byService };
    }),
  );

  return {
    release: input.release,
    runId: runIdOf(event.executionArn),
    startedAt: new Date(clock.nowMs()).toISOString(),
    account,
    environments: names,
    skipMigrations: input.skipMigrations ?? false,
    oneOff: Object.fromEntries(registered.map(({ name, oneOff }) => [name, oneOff])),
    services: Object.fromEntries(registered.map(({ name, services }) => [name, services])),
    waves,
  };
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
  for await (const page of pages) running.push(...(page.executions ?? []));
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

/** The value cached under `key`, made by `make` the first time it is asked for. */
function once<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

/** DescribeTaskDefinition with tags, once per (Region, task definition) for the whole Plan. */
class TaskDefinitions {
  readonly #cache = new Map<string, Promise<Described>>();
  constructor(private readonly clients: PlanClients) {}

  describe(region: string, taskDefinition: string): Promise<Described> {
    return once(this.#cache, `${region}|${taskDefinition}`, () => this.#describe(region, taskDefinition));
  }

  async #describe(region: string, taskDefinition: string): Promise<Described> {
    const output = await this.clients
      .ecs(region)
      .send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    const definition = output.taskDefinition;
    if (!definition?.taskDefinitionArn || !definition.family) {
      throw new ValidationError(
        `Task definition "${taskDefinition}" in ${region} was not found: check the configuration.`,
      );
    }
    const described: Described = {
      taskDefinition: {
        ...definition,
        taskDefinitionArn: definition.taskDefinitionArn,
        family: definition.family,
      },
      tags: output.tags ?? [],
    };
    // The same definition is often asked for by ARN and by its `family:revision`.
    this.#cache.set(`${region}|${definition.taskDefinitionArn}`, Promise.resolve(described));
    return described;
  }
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
      ecs.send(new DescribeServicesCommand({ cluster: environment.cluster, services })),
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

/** Registers each base once per Plan, or reuses the revision an earlier attempt of this release registered. */
class ReleaseRevisions {
  readonly #made = new Map<string, Promise<Revision>>();
  constructor(
    private readonly clients: PlanClients,
    private readonly describer: TaskDefinitions,
    private readonly input: ReleaseInput,
  ) {}

  revisionFor(region: string, base: Described): Promise<Revision> {
    // Services (or environments in one Region) sharing a definition share its new revision.
    const key = `${region}|${base.taskDefinition.taskDefinitionArn}`;
    return once(this.#made, key, () => this.#reuseOrRegister(region, base));
  }

  async #reuseOrRegister(region: string, base: Described): Promise<Revision> {
    const reused = await this.#findTagged(region, base.taskDefinition.family);
    if (reused) return reused;
    const output = await this.clients
      .ecs(region)
      .send(new RegisterTaskDefinitionCommand(registrationOf(base, this.input.release, this.input.images)));
    const arn = output.taskDefinition?.taskDefinitionArn;
    if (!arn)
      throw new Error(
        `RegisterTaskDefinition for family "${base.taskDefinition.family}" in ${region} returned no ARN.`,
      );
    return revisionOf(arn);
  }

  /** The newest revision of `family` tagged with this release and carrying its images, if any. */
  async #findTagged(region: string, family: string): Promise<Revision | undefined> {
    const ecs = this.clients.ecs(region);
    let searched = 0;
    const pages = paginateListTaskDefinitions(
      { client: ecs },
      { familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: REUSE_SEARCH_LIMIT },
    );
    for await (const page of pages) {
      // The prefix also matches longer family names.
      const arns = (page.taskDefinitionArns ?? []).filter((arn) => familyOf(arn) === family);
      for (const arn of arns.slice(0, REUSE_SEARCH_LIMIT - searched)) {
        const { taskDefinition, tags } = await this.describer.describe(region, arn);
        const tagged = tags.some((tag) => tag.key === TAGS.release && tag.value === this.input.release);
        if (tagged && hasImages(taskDefinition, this.input.images)) return revisionOf(arn);
      }
      searched += arns.length;
      if (searched >= REUSE_SEARCH_LIMIT) break;
    }
    return undefined;
  }
}
