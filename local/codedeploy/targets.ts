import { AwsError } from '../aws-error.js';
import { offsetPage } from '../page-token.js';
import { type Deployment, seconds, type TargetStatus, type TaskSetPort } from './records.js';

/** BatchGetDeploymentTargets takes at most 25 target ids. */
export const BATCH_GET_TARGETS_MAX = 25;

const TARGET_STATUSES: ReadonlySet<TargetStatus> = new Set([
  'Pending',
  'InProgress',
  'Succeeded',
  'Failed',
  'Skipped',
  'Unknown',
  'Ready',
]);

/** The id of an ECS deployment's one target: `<cluster>:<service>`. */
export function targetIdOf(d: Deployment): string {
  const [{ clusterName, serviceName }] = d.group.ecsServices;
  return `${clusterName}:${serviceName}`;
}

/** A deployment that has not started has no targets yet: `DeploymentNotStartedException`. */
function checkStarted(d: Deployment): void {
  if (d.status === 'Created' || d.status === 'Queued') {
    throw new AwsError(
      'DeploymentNotStartedException',
      `Deployment ${d.deploymentId} has not started yet (status ${d.status}); its targets are known once it runs.`,
    );
  }
}

/** The ECS target of a deployment as `ECSTarget`, with the service's task sets and their traffic. */
function ecsTargetOf(d: Deployment, ecs: TaskSetPort) {
  const [{ clusterName, serviceName }] = d.group.ecsServices;
  const described = ecs.describeService(d.region, clusterName, serviceName);
  const labelled = [
    { id: d.originalTaskSetId, label: 'Blue', weight: 100 - d.replacementWeight },
    { id: d.replacementTaskSetId, label: 'Green', weight: d.replacementWeight },
  ];
  const taskSetsInfo = labelled.flatMap(({ id, label, weight }) => {
    const set = id && described?.taskSets.find((s) => s.id === id);
    return set
      ? [
          {
            identifer: set.id,
            desiredCount: set.desiredCount,
            pendingCount: set.pendingCount,
            runningCount: set.runningCount,
            status: set.status,
            trafficWeight: weight,
            taskSetLabel: label,
          },
        ]
      : [];
  });
  return {
    deploymentId: d.deploymentId,
    targetId: targetIdOf(d),
    targetArn: described?.serviceArn,
    lastUpdatedAt: seconds(d.target.lastUpdatedAtMs),
    lifecycleEvents: d.target.events.map((event) => ({
      lifecycleEventName: event.name,
      status: event.status,
      startTime: seconds(event.startTimeMs),
      endTime: seconds(event.endTimeMs),
      diagnostics: event.diagnostics && {
        errorCode: event.diagnostics.errorCode,
        message: event.diagnostics.message,
      },
    })),
    status: d.target.status,
    taskSetsInfo,
  };
}

/** `DeploymentTarget` of an ECS deployment. */
function deploymentTargetOf(d: Deployment, ecs: TaskSetPort) {
  return { deploymentTargetType: 'ECSTarget', ecsTarget: ecsTargetOf(d, ecs) };
}

/** The target `targetId` of `d`: a malformed id is `InvalidDeploymentTargetIdException`, another service's `DeploymentTargetDoesNotExistException`. */
function checkTargetId(d: Deployment, targetId: string): void {
  if (!/^[^:]+:[^:]+$/.test(targetId)) {
    throw new AwsError(
      'InvalidDeploymentTargetIdException',
      `${targetId} is not an ECS deployment target id; ECS targets are named <cluster>:<service>.`,
    );
  }
  if (targetId !== targetIdOf(d)) {
    throw new AwsError(
      'DeploymentTargetDoesNotExistException',
      `Deployment ${d.deploymentId} has no target ${targetId}; its target is ${targetIdOf(d)}.`,
    );
  }
}

/** ListDeploymentTargets of an ECS deployment: its one target, filtered by `TargetStatus`. */
export function listDeploymentTargets(
  d: Deployment,
  targetFilters: Record<string, string[]> | undefined,
  nextToken: string | undefined,
) {
  checkStarted(d);
  for (const [name, values] of Object.entries(targetFilters ?? {})) {
    if (name !== 'TargetStatus' && name !== 'ServerInstanceLabel') {
      throw new AwsError(
        'InvalidTargetFilterNameException',
        `Target filter ${name} is invalid; use TargetStatus or ServerInstanceLabel.`,
      );
    }
    if (name === 'TargetStatus') {
      const bad = values.find((value) => !TARGET_STATUSES.has(value as TargetStatus));
      if (bad !== undefined) {
        throw new AwsError(
          'InvalidInstanceStatusException',
          `Target status ${bad} is invalid; use ${[...TARGET_STATUSES].join(', ')}.`,
        );
      }
    }
  }
  const statuses = targetFilters?.TargetStatus;
  const matching =
    statuses === undefined || statuses.length === 0 || statuses.includes(d.target.status)
      ? [targetIdOf(d)]
      : [];
  const page = offsetPage(matching, 100, nextToken, 'InvalidNextTokenException');
  return { targetIds: page.items, nextToken: page.nextToken };
}

/** BatchGetDeploymentTargets of an ECS deployment: 1 to 25 target ids, each of them its target. */
export function batchGetDeploymentTargets(d: Deployment, targetIds: string[] | undefined, ecs: TaskSetPort) {
  if (!targetIds || targetIds.length === 0) {
    throw new AwsError(
      'DeploymentTargetIdRequiredException',
      'targetIds is required; pass 1 to 25 target ids from ListDeploymentTargets.',
    );
  }
  if (targetIds.length > BATCH_GET_TARGETS_MAX) {
    throw new AwsError(
      'DeploymentTargetListSizeExceededException',
      `targetIds holds ${targetIds.length} ids; BatchGetDeploymentTargets takes at most ${BATCH_GET_TARGETS_MAX} per call.`,
    );
  }
  checkStarted(d);
  for (const id of targetIds) checkTargetId(d, id);
  return { deploymentTargets: targetIds.map(() => deploymentTargetOf(d, ecs)) };
}

/** GetDeploymentTarget of an ECS deployment. */
export function getDeploymentTarget(d: Deployment, targetId: string | undefined, ecs: TaskSetPort) {
  if (!targetId) {
    throw new AwsError('DeploymentTargetIdRequiredException', 'targetId is required; pass a target id.');
  }
  checkStarted(d);
  checkTargetId(d, targetId);
  return { deploymentTarget: deploymentTargetOf(d, ecs) };
}
