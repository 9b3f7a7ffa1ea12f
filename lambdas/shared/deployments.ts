import { createHash } from 'node:crypto';
import {
  BatchGetDeploymentsCommand,
  BatchGetDeploymentTargetsCommand,
  type CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentInfo,
  type DeploymentStatus,
  type ECSTarget,
  ListDeploymentTargetsCommand,
  paginateListDeployments,
} from '@aws-sdk/client-codedeploy';
import { describeFailure, inCall, inPlace, isTransient } from './aws-errors.js';
import type { Clients } from './clients.js';
import type { Clock } from './clock.js';
import type { DeployConfig, EnvironmentConfig, ServiceConfig } from './config.js';
import { chunk, environmentOf } from './ecs-tasks.js';
import { DeploymentFailedError, ForeignDeploymentError, ValidationError } from './errors.js';
import { deploymentMarker, parseMarker } from './markers.js';
import { serviceTaskDefinitionArn } from './revisions.js';
import type { AggregateStatus, DeploymentRef, Plan, RollbackAction, TaskDefinitionArn } from './types.js';

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

/**
 * Statuses of a deployment that has not finished; CodeDeploy allows one such per deployment
 * group. `Baking` is one of them (ListDeployments filters on it) though ECS deployments are not
 * known to enter it.
 */
export const ACTIVE_STATUSES: DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];

/** Status recorded for a deployment CodeDeploy did not return. */
export const MISSING = 'Missing';

/**
 * How long after CreateDeployment a deployment BatchGetDeployments does not return is still taken
 * as on its way rather than gone: CodeDeploy, like other AWS APIs, may not show a resource it just
 * made (https://github.com/aws-actions/amazon-ecs-deploy-task-definition/issues/495: a deployment
 * the console and the API did not show right after it was created).
 */
export const MISSING_DEPLOYMENT_GRACE_MS = 60_000;

/** BatchGetDeployments takes at most 25 ids per call. */
export const BATCH_GET_DEPLOYMENTS_MAX = 25;

/** An (environment, service) of the plan with its configuration. */
export interface PlannedService {
  environment: EnvironmentConfig;
  service: ServiceConfig;
  /** Task definition ARNs of the service before the release (the rollback target) and of the release. */
  revisions: { previous: TaskDefinitionArn; next: TaskDefinitionArn };
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
        previous: serviceTaskDefinitionArn(config, plan, envName, serviceName, 'previous'),
        next: serviceTaskDefinitionArn(config, plan, envName, serviceName, 'next'),
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
  await inCall('ListDeployments', `${filter.application}/${filter.deploymentGroup}`, async () => {
    for await (const page of pages) ids.push(...(page.deployments ?? []));
  });
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
      inCall('BatchGetDeployments', undefined, () =>
        codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds })),
      ),
    ),
  );
  const byId = new Map<string, DeploymentInfo>();
  for (const page of pages) {
    for (const info of page.deploymentsInfo ?? []) if (info.deploymentId) byId.set(info.deploymentId, info);
  }
  return byId;
}

/** The deployment ids of `refs` by Region, as one CodeDeploy client per Region reads them. */
function idsByRegion(refs: ReadonlyArray<{ region: string; deploymentId: string }>): Map<string, string[]> {
  const byRegion = new Map<string, string[]>();
  for (const ref of refs) byRegion.set(ref.region, [...(byRegion.get(ref.region) ?? []), ref.deploymentId]);
  return byRegion;
}

/** Deployments of several environments fetched per Region (one client each), 25 ids per call. */
export async function batchGetByRegion(
  codedeployOf: (region: string) => CodeDeployClient,
  refs: ReadonlyArray<{ region: string; deploymentId: string }>,
): Promise<Map<string, DeploymentInfo>> {
  const maps = await Promise.all(
    [...idsByRegion(refs)].map(([region, ids]) => batchGetDeployments(codedeployOf(region), ids)),
  );
  return new Map(maps.flatMap((m) => [...m]));
}

/** What one look read of some deployments. */
export interface DeploymentsRead {
  /** The deployments CodeDeploy returned, by id. */
  infos: Map<string, DeploymentInfo>;
  /** Ids whose read failed transiently (throttling...), with the failure in words: nothing is known of them. */
  unread: Map<string, string>;
}

/**
 * Reads deployments as `batchGetByRegion` does, for a check: a batch whose read fails transiently
 * leaves its ids in `unread` instead of failing the look. Any other error is thrown.
 */
export async function readDeployments(
  codedeployOf: (region: string) => CodeDeployClient,
  refs: ReadonlyArray<{ region: string; deploymentId: string; environment?: string }>,
): Promise<DeploymentsRead> {
  const read: DeploymentsRead = { infos: new Map(), unread: new Map() };
  const environmentOfId = new Map(
    refs.flatMap((ref) => (ref.environment ? [[ref.deploymentId, ref.environment] as const] : [])),
  );
  await Promise.all(
    [...idsByRegion(refs)].flatMap(([region, ids]) =>
      chunk([...new Set(ids)], BATCH_GET_DEPLOYMENTS_MAX).map(async (batch) => {
        // An error names the environments the batch reads for, then the Region.
        const environments = [...new Set(batch.flatMap((id) => environmentOfId.get(id) ?? []))];
        const where = environments.length > 0 ? `${environments.join(', ')} (${region})` : region;
        try {
          const infos = await inPlace(where, () => batchGetDeployments(codedeployOf(region), batch));
          for (const [id, info] of infos) read.infos.set(id, info);
        } catch (error) {
          if (!isTransient(error)) throw error;
          for (const id of batch) read.unread.set(id, describeFailure(error));
        }
      }),
    ),
  );
  return read;
}

/**
 * True for a deployment CodeDeploy made to roll another back. It may carry the description
 * of the deployment it rolls back, so a marker alone does not tell them apart.
 */
export function isAutoRollback(info: Pick<DeploymentInfo, 'creator' | 'rollbackInfo'>): boolean {
  return (
    info.rollbackInfo?.rollbackTriggeringDeploymentId !== undefined || info.creator === 'codeDeployRollback'
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
  /** Ids of the foreign deployments whose traffic already moved (in their termination wait). */
  trafficMoved: ReadonlySet<string>;
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
    groups.map((group) =>
      inPlace(`${group.environment.name}/${group.service.name}`, () =>
        surveyGroup(clients, release, group, oursSince),
      ),
    ),
  );
}

async function surveyGroup<G extends ReleaseGroup>(
  clients: Pick<Clients, 'codedeploy'>,
  release: string,
  group: G,
  oursSince?: Date,
): Promise<GroupSurvey<G>> {
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
  const foreign = active.filter((info) => !isOurs(info));
  const trafficMoved = await new DeploymentTargets(clients.codedeploy).trafficMoved(
    foreign.map((info) => ({ region: group.environment.region, info })),
  );
  return { group, marker, ours, foreign, trafficMoved };
}

/** One foreign deployment: where it is, what it is, and how to get it out of the way. */
export function describeForeignDeployment(
  group: ReleaseGroup,
  info: DeploymentInfo,
  trafficMoved: boolean,
): string {
  const { environment, service } = group;
  const where = `deployment group ${service.application}/${service.deploymentGroup} (${environment.name}/${service.name}, ${environment.region})`;
  const marker = isAutoRollback(info) ? undefined : parseMarker(info.description);
  const of = marker
    ? ` of stepdeploy release ${marker.release}${marker.rollback ? ' (its rollback)' : ''}`
    : '';
  if (inTerminationWait(info, trafficMoved)) {
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
 * Deployments whose ids are in `allowed` are let through. Does nothing when every group is free.
 */
export function refuseForeignDeployments(
  release: string,
  surveys: readonly GroupSurvey[],
  outcome: string,
  allowed: ReadonlySet<string> = new Set(),
): void {
  const foreign = surveys.flatMap((s) =>
    s.foreign
      .filter((info) => info.deploymentId === undefined || !allowed.has(info.deploymentId))
      .map((info) =>
        describeForeignDeployment(
          s.group,
          info,
          info.deploymentId !== undefined && s.trafficMoved.has(info.deploymentId),
        ),
      ),
  );
  if (foreign.length === 0) return;
  throw new ForeignDeploymentError(
    `Release ${release} ${outcome}: CodeDeploy allows one active deployment per deployment group, and ` +
      `${foreign.length === 1 ? 'one is' : `${foreign.length} are`} taken: ${foreign.join('; ')}. ` +
      'Once every group is free, start the release again.',
  );
}

/** A foreign deployment an earlier stepdeploy release made, with traffic moved: only its termination wait is left. */
export interface EarlierReleaseWait<G extends ReleaseGroup = ReleaseGroup> {
  group: G;
  /** The release its marker names. */
  release: string;
  deploymentId: string;
}

/**
 * The foreign deployments of the surveys that an earlier stepdeploy release made (they carry
 * its marker, and CodeDeploy did not make them as a rollback) and that are in their termination
 * wait: traffic moved, the original tasks kept for the rollback window. Ending that wait lets a
 * new release deploy; any other foreign deployment is not theirs to end.
 */
export function earlierReleaseWaits<G extends ReleaseGroup>(
  surveys: readonly GroupSurvey<G>[],
): EarlierReleaseWait<G>[] {
  return surveys.flatMap((s) =>
    s.foreign.flatMap((info) => {
      const marker = isAutoRollback(info) ? undefined : parseMarker(info.description);
      const deploymentId = info.deploymentId;
      if (!marker || !deploymentId || !inTerminationWait(info, s.trafficMoved.has(deploymentId))) return [];
      return [{ group: s.group, release: marker.release, deploymentId }];
    }),
  );
}

/** The ids of the deployments whose termination wait the plan ended. */
export function endedWaitIds(plan: Pick<Plan, 'endedWaits'>): Set<string> {
  return new Set(
    (plan.endedWaits ?? []).flatMap((wait) =>
      Object.values(wait.deployments).flatMap((byService) => Object.values(byService)),
    ),
  );
}

/**
 * True when traffic has moved to the replacement tasks and only the termination wait is left:
 * the deployment is still in flight and its ECS target Succeeded (`targetSucceeded`). CodeDeploy
 * leaves `instanceTerminationWaitTimeStarted` false for ECS
 * (https://github.com/aws/containers-roadmap/issues/269); should it ever say true, that counts too.
 */
export function inTerminationWait(
  info: Pick<DeploymentInfo, 'status' | 'instanceTerminationWaitTimeStarted'>,
  targetSucceeded: boolean,
): boolean {
  return (
    (info.status === 'InProgress' || info.status === 'Ready') &&
    (targetSucceeded || info.instanceTerminationWaitTimeStarted === true)
  );
}

/** True once production traffic is on the deployment's replacement tasks: it succeeded, or waits to terminate the originals. */
export function hasTrafficMoved(
  info: Pick<DeploymentInfo, 'status' | 'instanceTerminationWaitTimeStarted'>,
  targetSucceeded: boolean,
): boolean {
  return info.status === 'Succeeded' || inTerminationWait(info, targetSucceeded);
}

/**
 * Where one deployment stands for the run: SUCCEEDED once traffic moved (it succeeded, or only
 * waits to terminate the original tasks), FAILED once it failed or was stopped, RUNNING otherwise.
 */
export function deploymentVerdict(info: DeploymentInfo, targetSucceeded: boolean): AggregateStatus {
  if (hasTrafficMoved(info, targetSucceeded)) return 'SUCCEEDED';
  if (info.status === 'Failed' || info.status === 'Stopped') return 'FAILED';
  return 'RUNNING';
}

/** BatchGetDeploymentTargets takes at most 25 target ids per call. */
export const BATCH_GET_TARGETS_MAX = 25;

/** A deployment looked up, with the Region it lives in. */
export interface LocatedDeployment {
  region: string;
  info: DeploymentInfo;
}

/**
 * Reads the ECS targets of in-flight deployments to learn whether their traffic moved: one
 * ListDeploymentTargets per deployment (remembered), then one BatchGetDeploymentTargets per
 * look, only for deployments InProgress whose traffic was not yet seen moved. Keep one reader
 * for the looks of one invocation, so each deployment's target ids are listed once.
 */
export class DeploymentTargets {
  private readonly targetIds = new Map<string, string[]>();
  private readonly moved = new Set<string>();

  constructor(private readonly codedeployOf: (region: string) => CodeDeployClient) {}

  /**
   * Ids of the deployments among `deployments` whose ECS target Succeeded while they are in flight.
   * With `unread`, a deployment whose targets could not be read for a transient error is put there
   * (and not counted as moved) instead of failing the whole look.
   */
  async trafficMoved(
    deployments: ReadonlyArray<LocatedDeployment>,
    unread?: Map<string, string>,
  ): Promise<Set<string>> {
    const inFlight = deployments.filter(
      ({ info }) =>
        info.deploymentId !== undefined && (info.status === 'InProgress' || info.status === 'Ready'),
    );
    await Promise.all(
      inFlight.map(async ({ region, info }) => {
        const id = info.deploymentId as string;
        if (this.moved.has(id) || info.status !== 'InProgress') return;
        let targets: ECSTarget[];
        try {
          targets = await this.targetsOf(region, id);
        } catch (error) {
          if (!unread || !isTransient(error)) throw error;
          unread.set(id, describeFailure(error));
          return;
        }
        // An ECS deployment has one target, its service; every one of them must have moved.
        if (targets.length > 0 && targets.every((target) => target.status === 'Succeeded'))
          this.moved.add(id);
      }),
    );
    return new Set(
      inFlight.map(({ info }) => info.deploymentId as string).filter((id) => this.moved.has(id)),
    );
  }

  /**
   * True when traffic may have reached the replacement of a deployment that ended: its target
   * Succeeded, or its AllowTraffic lifecycle event started. False means the original tasks
   * never stopped serving. An unreadable target counts as true.
   */
  async trafficReached(region: string, deploymentId: string): Promise<boolean> {
    const targets = await this.targetsOf(region, deploymentId).catch(() => undefined);
    if (!targets || targets.length === 0) return true;
    return targets.some(
      (target) =>
        target.status === 'Succeeded' ||
        target.lifecycleEvents?.some(
          (event) =>
            event.lifecycleEventName === 'AllowTraffic' &&
            event.status !== 'Pending' &&
            event.status !== 'Skipped',
        ),
    );
  }

  /**
   * True once a deployment went past its ready wait: its target's BeforeAllowTraffic or
   * AllowTraffic lifecycle event started, so production traffic is moving or about to. False
   * while it is still installing or being tested.
   */
  async pastReadyWait(region: string, deploymentId: string): Promise<boolean> {
    const targets = await this.targetsOf(region, deploymentId);
    return targets.some((target) =>
      target.lifecycleEvents?.some(
        (event) =>
          (event.lifecycleEventName === 'BeforeAllowTraffic' ||
            event.lifecycleEventName === 'AllowTraffic') &&
          event.status !== 'Pending' &&
          event.status !== 'Skipped',
      ),
    );
  }

  /** The ECS targets of a deployment: its target ids listed once, then read 25 at a time. */
  private async targetsOf(region: string, deploymentId: string): Promise<ECSTarget[]> {
    const codedeploy = this.codedeployOf(region);
    let ids = this.targetIds.get(deploymentId);
    if (!ids) {
      ids = [];
      let nextToken: string | undefined;
      do {
        const page = await inCall('ListDeploymentTargets', `deployment ${deploymentId}`, () =>
          codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId, nextToken })),
        );
        ids.push(...(page?.targetIds ?? []));
        nextToken = page?.nextToken;
      } while (nextToken);
      this.targetIds.set(deploymentId, ids);
    }
    const pages = await Promise.all(
      chunk(ids, BATCH_GET_TARGETS_MAX).map((targetIds) =>
        inCall('BatchGetDeploymentTargets', `deployment ${deploymentId}`, () =>
          codedeploy.send(new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds })),
        ),
      ),
    );
    return pages
      .flatMap((page) => page.deploymentTargets ?? [])
      .flatMap((t) => (t.ecsTarget ? [t.ecsTarget] : []));
  }
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
      // Created, Queued, InProgress, Baking, Ready (termination wait included): still in flight.
      return 'stop';
  }
}

/**
 * AppSpec content of an ECS blue/green deployment and the hex sha256 CodeDeploy checks it
 * against. `taskDefinition` is the task definition's full ARN, as the AppSpec takes it.
 */
export function appSpecOf(
  taskDefinition: TaskDefinitionArn,
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

/** Creates a deployment of `taskDefinition` (its ARN) on the service's group, marked by `description`; returns its id. */
export async function createEcsDeployment(
  codedeploy: CodeDeployClient,
  service: ServiceConfig,
  taskDefinition: TaskDefinitionArn,
  description: string,
): Promise<string> {
  const appSpec = appSpecOf(taskDefinition, service);
  const created = await inCall('CreateDeployment', `${service.application}/${service.deploymentGroup}`, () =>
    codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: service.application,
        deploymentGroupName: service.deploymentGroup,
        revision: { revisionType: 'AppSpecContent', appSpecContent: appSpec },
        description,
      }),
    ),
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
