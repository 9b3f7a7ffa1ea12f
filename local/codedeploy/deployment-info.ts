import { blueGreenStyleOf, type Deployment, DONE, seconds } from './records.js';

/**
 * `deploymentOverview` counts a deployment's targets by status. For an ECS deployment CodeDeploy
 * leaves it out while the deployment runs; once it ended, its one target is counted.
 */
function overviewOf(d: Deployment) {
  if (!DONE.has(d.status)) return undefined;
  const overview = { Pending: 0, InProgress: 0, Succeeded: 0, Failed: 0, Skipped: 0, Ready: 0 };
  if (d.target.status === 'Succeeded') overview.Succeeded = 1;
  else if (d.target.status === 'Failed') overview.Failed = 1;
  else overview.Skipped = 1;
  return overview;
}

/** A deployment as GetDeployment and BatchGetDeployments return it (`DeploymentInfo`). */
export function deploymentInfo(d: Deployment) {
  return {
    applicationName: d.group.applicationName,
    deploymentGroupName: d.group.deploymentGroupName,
    deploymentConfigName: d.deploymentConfigName,
    deploymentId: d.deploymentId,
    previousRevision: d.previousRevision,
    revision: d.revision,
    status: d.status,
    errorInformation: d.errorInformation,
    createTime: seconds(d.createTimeMs),
    startTime: seconds(d.startTimeMs),
    completeTime: seconds(d.completeTimeMs),
    deploymentOverview: overviewOf(d),
    description: d.description,
    creator: d.creator,
    ignoreApplicationStopFailures: false,
    autoRollbackConfiguration: d.autoRollback,
    updateOutdatedInstancesOnly: false,
    rollbackInfo: d.rollbackInfo,
    ...blueGreenStyleOf(d.group),
    // CodeDeploy leaves it false through an ECS deployment's termination wait; the target tells.
    instanceTerminationWaitTimeStarted: false,
    fileExistsBehavior: 'DISALLOW',
    deploymentStatusMessages: [...d.messages],
    computePlatform: 'ECS',
  };
}
