import { createHash } from 'node:crypto';
import {
  BatchGetDeploymentsCommand,
  type CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentInfo,
  type DeploymentStatus,
  paginateListDeployments,
} from '@aws-sdk/client-codedeploy';
import type { Clients } from './clients.js';
import type { Clock } from './clock.js';
import type { DeployConfig, EnvironmentConfig, ServiceConfig } from './config.js';
import { chunk, environmentOf } from './ecs-tasks.js';
import { DeploymentFailedError, ForeignDeploymentError, ValidationError } from './errors.js';
import { deploymentMarker, parseMarker } from './markers.js';
import { serviceRevision } from './revisions.js';
import type { AggregateStatus, DeploymentRef, Plan, Revision, RollbackAction } from './types.js';

/**
 * What every deployment core is handed: the clients, the clock and the configuration.
 * `K` names the clients the core calls (CodeDeploy unless it says more), so its handler
 * loads only those.
 */
export interface DeploymentDeps<K extends keyof Clients = 'codedeploy'> {
  clients: Pick<Clients, K>;
  clock: Clock;
  config: DeployConfig;
}

/** Statuses of a deployment that has not finished; CodeDeploy allows one such per deployment group. */
export const ACTIVE_STATUSES: DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Ready'];

/** Status recorded for a deployment CodeDeploy did not return. */
export const MISSING = 'Missing';

/** BatchGetDeployments takes at most 25 ids per call. */
export const BATCH_GET_DEPLOYMENTS_MAX = 25;

/** An (environment, service) of the plan with its configuration. */
export interface PlannedService {
  environment: EnvironmentConfig;
  service: ServiceConfig;
  revisions: { previous: Revision; next: Revision };
}

/**
 * Every (environment, service) the plan deploys, in plan order, joined with its configuration.
 * A name the configuration does not know is a `ValidationError`: the plan was made from another config.
 */
export function plannedServices(config: DeployConfig, plan: Plan): PlannedService[] {
  const planned: PlannedService[] = [];
  for (const envName of plan.environments) {
    const environment = environmentOf(config, envName, 'plan.environments');
    for (const serviceName of Object.keys(plan.services[envName] ?? {})) {
      const service = environment.services.find((s) => s.name === serviceName);
      if (!service) {
        throw new ValidationError(
          `plan.services.${envName}.${serviceName}: service "${serviceName}" is not configured in environment "${envName}"; start a new execution so Plan runs against the current configuration.`,
        );
      }
      const revisions = {
        previous: serviceRevision(config, plan, envName, serviceName, 'previous'),
        next: serviceRevision(config, plan, envName, serviceName, 'next'),
      };
      planned.push({ environment, service, revisions });
    }
  }
  return planned;
}

/** The configured service `service` of `environment`; a `ValidationError` naming `field` when there is none. */
export function serviceOf(
  config: DeployConfig,
  environment: string,
  service: string,
  field: string,
): ServiceConfig {
  const found = environmentOf(config, environment, field).services.find((s) => s.name === service);
  if (!found) {
    throw new ValidationError(
      `${field}: service "${service}" is not configured in environment "${environment}".`,
    );
  }
  return found;
}

/** Which deployments of one group to list: by status, and created after a time. */
export interface DeploymentFilter {
  application: string;
  deploymentGroup: string;
  statuses?: DeploymentStatus[];
  createdAfter?: Date;
}

/** Ids of the deployments of one group matching the filter, across every page. */
export async function listDeploymentIds(
  codedeploy: CodeDeployClient,
  filter: DeploymentFilter,
): Promise<string[]> {
  const ids: string[] = [];
  const pages = paginateListDeployments(
    { client: codedeploy },
    {
      applicationName: filter.application,
      deploymentGroupName: filter.deploymentGroup,
      includeOnlyStatuses: filter.statuses,
      createTimeRange: filter.createdAfter ? { start: filter.createdAfter } : undefined,
    },
  );
  for await (const page of pages) ids.push(...(page.deployments ?? []));
  return ids;
}

/** The deployments with these ids, fetched 25 at a time in parallel; ids CodeDeploy does not return are absent. */
export async function batchGetDeployments(
  codedeploy: CodeDeployClient,
  ids: readonly string[],
): Promise<Map<string, DeploymentInfo>> {
  const unique = [...new Set(ids)];
  const pages = await Promise.all(
    chunk(unique, BATCH_GET_DEPLOYMENTS_MAX).map((deploymentIds) =>
      codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds })),
    ),
  );
  const byId = new Map<string, DeploymentInfo>();
  for (const page of pages) {
    for (const info of page.deploymentsInfo ?? []) if (info.deploymentId) byId.set(info.deploymentId, info);
  }
  return byId;
}

/**
 * Deployments of several environments fetched per Region (one client each), 25 ids per call.
 * `regionOf` maps a ref's environment to its Region.
 */
export async function batchGetByRegion(
  codedeployOf: (region: string) => CodeDeployClient,
  refs: ReadonlyArray<{ region: string; deploymentId: string }>,
): Promise<Map<string, DeploymentInfo>> {
  const idsByRegion = new Map<string, string[]>();
  for (const ref of refs) {
    const ids = idsByRegion.get(ref.region) ?? [];
    ids.push(ref.deploymentId);
    idsByRegion.set(ref.region, ids);
  }
  const maps = await Promise.all(
    [...idsByRegion].map(([region, ids]) => batchGetDeployments(codedeployOf(region), ids)),
  );
  return new Map(maps.flatMap((m) => [...m]));
}

/**
 * True for a deployment CodeDeploy made to roll another back. It may carry the description
 * of the deployment it rolls back, so a marker alone does not tell them apart.
 */
export function isAutoRollback(info: Pick<DeploymentInfo, 'creator' | 'rollbackInfo'>): boolean {
  return (
    info.rollbackInfo?.rollbackTriggeringDeploymentId !== undefined ||
    info.creator === 'codeDeployRollback' ||
    (info.creator as string | undefined) === 'autoRollback'
  );
}

/**
 * Deployments of one group whose description carries exactly `marker`, newest first,
 * leaving out the rollbacks CodeDeploy made of them.
 * `createdAfter` narrows the listing to the run (the plan's start); `statuses` to active ones.
 */
export async function findMarkedDeployments(
  codedeploy: CodeDeployClient,
  filter: DeploymentFilter,
  marker: string,
): Promise<DeploymentInfo[]> {
  const ids = await listDeploymentIds(codedeploy, filter);
  const infos = await batchGetDeployments(codedeploy, ids);
  return [...infos.values()]
    .filter((info) => info.description === marker && !isAutoRollback(info))
    .sort((a, b) => (b.createTime?.getTime() ?? 0) - (a.createTime?.getTime() ?? 0));
}

/** One deployment group of a release: an (environment, service) of the configuration. */
export interface ReleaseGroup {
  environment: EnvironmentConfig;
  service: ServiceConfig;
}

/** What one deployment group holds before the release creates anything on it. */
export interface GroupSurvey<G extends ReleaseGroup = ReleaseGroup> {
  group: G;
  /** The description marker of this release's deployment on the group. */
  marker: string;
  /** This release's deployment on the group, when an earlier attempt created it. */
  ours?: DeploymentInfo;
  /** Active deployments someone else started: another release, a person, CodeDeploy's own rollback. */
  foreign: DeploymentInfo[];
}

/**
 * Looks at the active deployments of every group of `release`, in parallel: one carrying
 * the release's marker (and not a CodeDeploy rollback of it) is ours, any other is foreign.
 * With `oursSince`, a group with no active deployment of ours is also searched for one the
 * release created since then and that already finished, so a retry adopts it rather than
 * deploying twice.
 */
export async function surveyDeploymentGroups<G extends ReleaseGroup>(
  clients: Pick<Clients, 'codedeploy'>,
  release: string,
  groups: readonly G[],
  oursSince?: Date,
): Promise<GroupSurvey<G>[]> {
  return Promise.all(
    groups.map(async (group): Promise<GroupSurvey<G>> => {
      const codedeploy = clients.codedeploy(group.environment.region);
      const filter = {
        application: group.service.application,
        deploymentGroup: group.service.deploymentGroup,
      };
      const marker = deploymentMarker(release, group.environment.name, group.service.name);
      const active = [
        ...(
          await batchGetDeployments(
            codedeploy,
            await listDeploymentIds(codedeploy, { ...filter, statuses: ACTIVE_STATUSES }),
          )
        ).values(),
      ];
      const isOurs = (info: DeploymentInfo) => info.description === marker && !isAutoRollback(info);
      let ours = active.find(isOurs);
      if (!ours && oursSince) {
        [ours] = await findMarkedDeployments(codedeploy, { ...filter, createdAfter: oursSince }, marker);
      }
      return { group, marker, ours, foreign: active.filter((info) => !isOurs(info)) };
    }),
  );
}

/** One foreign deployment: where it is, what it is, and how to get it out of the way. */
export function describeForeignDeployment(group: ReleaseGroup, info: DeploymentInfo): string {
  const { environment, service } = group;
  const where = `deployment group ${service.application}/${service.deploymentGroup} (${environment.name}/${service.name}, ${environment.region})`;
  const marker = isAutoRollback(info) ? undefined : parseMarker(info.description);
  const of = marker
    ? ` of stepdeploy release ${marker.release}${marker.rollback ? ' (its rollback)' : ''}`
    : '';
  if (inTerminationWait(info)) {
    return (
      `${where} has deployment ${info.deploymentId}${of} in its termination wait: traffic already moved to its ` +
      'replacement tasks and the original tasks are kept for the rollback window. Run ' +
      `\`aws deploy continue-deployment --deployment-id ${info.deploymentId} --deployment-wait-type TERMINATION_WAIT ` +
      `--region ${environment.region}\` to end the wait (the previous release's original tasks are then ` +
      'terminated), or wait for it to finish'
    );
  }
  if (marker) {
    return `${where} has active deployment ${info.deploymentId}${of} (status ${info.status}): wait for that release's run to finish, or stop it`;
  }
  return `${where} has active deployment ${info.deploymentId} (status ${info.status}, creator ${info.creator ?? 'unknown'}, description "${info.description ?? ''}"): wait for it to finish, or stop it`;
}

/**
 * Throws `ForeignDeploymentError` naming every foreign active deployment of the surveys,
 * each with its fix; `outcome` says what the release did so far (such as "started nothing").
 * Does nothing when every group is free.
 */
export function refuseForeignDeployments(
  release: string,
  surveys: readonly GroupSurvey[],
  outcome: string,
): void {
  const foreign = surveys.flatMap((s) => s.foreign.map((info) => describeForeignDeployment(s.group, info)));
  if (foreign.length === 0) return;
  throw new ForeignDeploymentError(
    `Release ${release} ${outcome}: CodeDeploy allows one active deployment per deployment group, and ` +
      `${foreign.length === 1 ? 'one is' : `${foreign.length} are`} taken: ${foreign.join('; ')}. ` +
      'Once every group is free, start the release again.',
  );
}

/** True when traffic has moved to the replacement tasks and only the termination wait is left. */
export function inTerminationWait(info: DeploymentInfo): boolean {
  return (
    (info.status === 'InProgress' || info.status === 'Ready') &&
    info.instanceTerminationWaitTimeStarted === true
  );
}

/**
 * Where one deployment stands for the run: SUCCEEDED once it succeeded or only waits to
 * terminate the original tasks, FAILED once it failed or was stopped, RUNNING otherwise.
 */
export function deploymentVerdict(info: DeploymentInfo): AggregateStatus {
  if (info.status === 'Succeeded' || inTerminationWait(info)) return 'SUCCEEDED';
  if (info.status === 'Failed' || info.status === 'Stopped') return 'FAILED';
  return 'RUNNING';
}

/**
 * How one deployment of the run is rolled back: stop it while in flight (CodeDeploy then
 * reroutes traffic to the original tasks), redeploy the previous revision once it succeeded,
 * follow the rollback CodeDeploy already made, or nothing when it ended before traffic moved.
 */
export function decideRollback(info: Pick<DeploymentInfo, 'status' | 'rollbackInfo'>): RollbackAction {
  switch (info.status) {
    case 'Succeeded':
      return 'redeploy';
    case 'Failed':
    case 'Stopped':
      return info.rollbackInfo?.rollbackDeploymentId ? 'adopt' : 'none';
    default:
      // Created, Queued, InProgress, Ready (termination wait included), Baking: still in flight.
      return 'stop';
  }
}

/** AppSpec content of an ECS blue/green deployment and the hex sha256 CodeDeploy checks it against. */
export function appSpecOf(
  taskDefinition: Revision,
  service: Pick<ServiceConfig, 'container' | 'containerPort'>,
) {
  const resources = [
    {
      TargetService: {
        Type: 'AWS::ECS::Service',
        Properties: {
          TaskDefinition: taskDefinition,
          LoadBalancerInfo: { ContainerName: service.container, ContainerPort: service.containerPort },
        },
      },
    },
  ];
  // JSON is YAML; the version is written by hand because JSON.stringify turns 0.0 into 0.
  const content = `{"version":0.0,"Resources":${JSON.stringify(resources)}}`;
  return { content, sha256: createHash('sha256').update(content).digest('hex') };
}

/** Creates a deployment of `taskDefinition` on the service's group, marked by `description`; returns its id. */
export async function createEcsDeployment(
  codedeploy: CodeDeployClient,
  service: ServiceConfig,
  taskDefinition: Revision,
  description: string,
): Promise<string> {
  const appSpec = appSpecOf(taskDefinition, service);
  const created = await codedeploy.send(
    new CreateDeploymentCommand({
      applicationName: service.application,
      deploymentGroupName: service.deploymentGroup,
      revision: { revisionType: 'AppSpecContent', appSpecContent: appSpec },
      description,
    }),
  );
  if (!created.deploymentId) {
    throw new DeploymentFailedError(
      `CreateDeployment on ${service.application}/${service.deploymentGroup} returned no deploymentId; check the deployment group in the CodeDeploy console and start the release again.`,
    );
  }
  return created.deploymentId;
}

/** A deployment ref with the Region its environment lives in. */
export function withRegion<T extends DeploymentRef>(config: DeployConfig, ref: T): T & { region: string } {
  return { ...ref, region: environmentOf(config, ref.environment, 'deployments.environment').region };
}
