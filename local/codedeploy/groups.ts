import { randomUUID } from 'node:crypto';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import { DEFAULT_ECS_CONFIG, trafficStepsOf } from './deployment-configs.js';
import {
  type Application,
  blueGreenStyleOf,
  type Deployment,
  type DeploymentGroup,
  type DeploymentGroupInput,
  DONE,
  seconds,
} from './records.js';

/** CodeDeploy applications and their ECS blue/green deployment groups, per Region. */
export class GroupRegistry {
  private readonly applications = new Map<string, Application>();
  private readonly groups = new Map<string, DeploymentGroup>();

  constructor(private readonly clock: LocalClock) {}

  /** CreateApplication. */
  createApplication(region: string, applicationName: string): { applicationId: string } {
    if (!applicationName) {
      throw new AwsError(
        'ApplicationNameRequiredException',
        'applicationName is required; pass the application name.',
      );
    }
    const key = `${region}/${applicationName}`;
    if (this.applications.has(key)) {
      throw new AwsError(
        'ApplicationAlreadyExistsException',
        `Application ${applicationName} already exists in ${region}.`,
      );
    }
    const app = { region, applicationId: randomUUID(), applicationName, createTimeMs: this.clock.nowMs() };
    this.applications.set(key, app);
    return { applicationId: app.applicationId };
  }

  /** CreateDeploymentGroup (ECS blue/green); the deployment configuration must be one CodeDeploy knows. */
  createDeploymentGroup(region: string, input: DeploymentGroupInput): { deploymentGroupId: string } {
    this.application(region, input.applicationName);
    if (!input.deploymentGroupName) {
      throw new AwsError(
        'DeploymentGroupNameRequiredException',
        'deploymentGroupName is required; pass the deployment group name.',
      );
    }
    const key = `${region}/${input.applicationName}/${input.deploymentGroupName}`;
    if (this.groups.has(key)) {
      throw new AwsError(
        'DeploymentGroupAlreadyExistsException',
        `Deployment group ${input.deploymentGroupName} already exists in application ${input.applicationName} (${region}).`,
      );
    }
    if (input.ecsServices.length !== 1) {
      throw new AwsError(
        'InvalidECSServiceException',
        `Deployment group ${input.deploymentGroupName} must name exactly one ECS service (ecsServices), not ${input.ecsServices.length}.`,
      );
    }
    const deploymentConfigName = input.deploymentConfigName ?? DEFAULT_ECS_CONFIG;
    trafficStepsOf(deploymentConfigName);
    const group: DeploymentGroup = {
      ...input,
      deploymentConfigName,
      region,
      deploymentGroupId: randomUUID(),
    };
    this.groups.set(key, group);
    return { deploymentGroupId: group.deploymentGroupId };
  }

  /** The application `name` of `region`; CodeDeploy's errors when it is missing or unknown. */
  application(region: string, name: string | undefined): Application {
    if (!name) {
      throw new AwsError(
        'ApplicationNameRequiredException',
        'applicationName is required; pass the application name.',
      );
    }
    const app = this.applications.get(`${region}/${name}`);
    if (!app) {
      throw new AwsError(
        'ApplicationDoesNotExistException',
        `No application named ${name} exists in ${region}; check the name and the Region.`,
      );
    }
    return app;
  }

  /** The deployment group `name` of an application; CodeDeploy's errors when it is missing or unknown. */
  group(region: string, applicationName: string | undefined, name: string | undefined): DeploymentGroup {
    const app = this.application(region, applicationName);
    if (!name) {
      throw new AwsError(
        'DeploymentGroupNameRequiredException',
        'deploymentGroupName is required; pass the deployment group name.',
      );
    }
    const group = this.groups.get(`${region}/${app.applicationName}/${name}`);
    if (!group) {
      throw new AwsError(
        'DeploymentGroupDoesNotExistException',
        `No deployment group named ${name} exists in application ${app.applicationName} (${region}).`,
      );
    }
    return group;
  }

  /** GetApplication. */
  getApplication(region: string, applicationName: string | undefined) {
    const app = this.application(region, applicationName);
    return {
      application: {
        applicationId: app.applicationId,
        applicationName: app.applicationName,
        createTime: seconds(app.createTimeMs),
        linkedToGitHub: false,
        computePlatform: 'ECS',
      },
    };
  }

  /** ListApplications (one page: the local AWS holds few). */
  listApplications(region: string) {
    return {
      applications: [...this.applications.values()]
        .filter((app) => app.region === region)
        .map((app) => app.applicationName)
        .sort(),
    };
  }

  /** ListDeploymentGroups. */
  listDeploymentGroups(region: string, applicationName: string | undefined) {
    const app = this.application(region, applicationName);
    return {
      applicationName: app.applicationName,
      deploymentGroups: [...this.groups.values()]
        .filter((g) => g.region === region && g.applicationName === app.applicationName)
        .map((g) => g.deploymentGroupName)
        .sort(),
    };
  }

  /** GetDeploymentGroup, with the group's last successful and last attempted deployments among `deployments`. */
  getDeploymentGroup(
    region: string,
    applicationName: string | undefined,
    deploymentGroupName: string | undefined,
    deployments: Iterable<Deployment>,
  ) {
    const group = this.group(region, applicationName, deploymentGroupName);
    const ofGroup = [...deployments]
      .filter((d) => d.group === group)
      .sort((a, b) => b.createTimeMs - a.createTimeMs);
    const summary = (d: Deployment | undefined) =>
      d && {
        deploymentId: d.deploymentId,
        status: d.status,
        endTime: seconds(d.completeTimeMs),
        createTime: seconds(d.createTimeMs),
      };
    return {
      deploymentGroupInfo: {
        applicationName: group.applicationName,
        deploymentGroupId: group.deploymentGroupId,
        deploymentGroupName: group.deploymentGroupName,
        deploymentConfigName: group.deploymentConfigName,
        serviceRoleArn: group.serviceRoleArn,
        targetRevision: group.targetRevision,
        autoRollbackConfiguration: group.autoRollbackConfiguration ?? { enabled: false, events: [] },
        ...blueGreenStyleOf(group),
        loadBalancerInfo: group.loadBalancerInfo,
        ecsServices: group.ecsServices,
        computePlatform: 'ECS',
        lastSuccessfulDeployment: summary(ofGroup.find((d) => d.status === 'Succeeded')),
        lastAttemptedDeployment: summary(ofGroup.find((d) => DONE.has(d.status))),
      },
    };
  }
}
