import { ArnFormat, Resource, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { EnvironmentResources } from './resolve-props.js';

/** Reading deployments by id (the handlers read them in batches of 25). */
const READ_DEPLOYMENTS = ['codedeploy:BatchGetDeployments'];

/** Finding a group's deployments (by marker) and reading them. */
const FIND_DEPLOYMENTS = [...READ_DEPLOYMENTS, 'codedeploy:ListDeployments'];

/** Creating a deployment after looking for the group's active ones. */
const CREATE_DEPLOYMENTS = ['codedeploy:CreateDeployment', ...FIND_DEPLOYMENTS];

/**
 * Reading a deployment's ECS target (traffic moved while the deployment is InProgress). The
 * Service Authorization Reference lists no resource type for these, so they take `*`.
 */
const READ_TARGETS = ['codedeploy:ListDeploymentTargets', 'codedeploy:BatchGetDeploymentTargets'];

/** Watching alarms: their state and their history. */
const READ_ALARMS = ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'];

/** Finding the run's tasks by `startedBy` (ListTasks, then DescribeTasks) and stopping them. */
const STOP_RUN_TASKS = ['ecs:DescribeTasks', 'ecs:ListTasks', 'ecs:StopTask'];

/** Builds the least-privilege policy of each handler from the configured resources. */
export class PolicyFactory {
  private readonly clusterArns: string[];
  private readonly deploymentGroupArns: string[];
  private readonly applicationArns: string[];
  private readonly deploymentConfigArns: string[];

  constructor(
    private readonly stack: Stack,
    private readonly environments: EnvironmentResources[],
    private readonly stateMachineArn: string,
    private readonly executionsArn: string,
  ) {
    this.clusterArns = unique(environments.map((env) => env.clusterArn));
    const groups = environments.flatMap((env) => env.deploymentGroups);
    this.deploymentGroupArns = unique(groups.map((group) => group.deploymentGroupArn));
    this.applicationArns = unique(groups.map((group) => group.application.applicationArn));
    // An imported group reports ECSAllAtOnce whatever its real configuration, so every
    // configuration of the account in each Region the groups live in.
    this.deploymentConfigArns = unique(
      environments.map((env) =>
        stack.formatArn({
          service: 'codedeploy',
          region: env.config.region,
          resource: 'deploymentconfig',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    );
  }

  /**
   * Plan: list executions (and read the succeeded ones a rollback goes back to), look for
   * foreign deployments and end an earlier release's termination wait, read the services,
   * register task definition revisions; read the deployment groups of the waves whose
   * cut-over synth could not decide (`readGroups`). ContinueDeployment names no resource type
   * in the Service Authorization Reference: `*`.
   */
  plan(fn: lambda.IFunction, readGroups = false): void {
    if (readGroups) this.deploymentAccess(fn, ['codedeploy:GetDeploymentGroup']);
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [this.stateMachineArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [this.executionsArn] }),
    );
    this.deploymentAccess(fn, FIND_DEPLOYMENTS);
    this.targetAccess(fn);
    this.anyDeployment(fn, ['codedeploy:ContinueDeployment']);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices'],
        resources: unique(this.environments.flatMap((env) => env.serviceArns)),
      }),
    );
    this.taskDefinitionAccess(fn, 'RegisterTaskDefinition');
    this.passRoles(
      fn,
      this.environments.flatMap((env) => env.taskDefinitions),
    );
  }

  /** StartTasks: RunTask from the one-off task definitions, in the configured clusters only. */
  startTasks(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: unique(
          this.environments.map((env) =>
            this.stack.formatArn({
              service: 'ecs',
              region: env.config.region,
              resource: 'task-definition',
              resourceName: `${env.oneOff.family}:*`,
            }),
          ),
        ),
        conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
      }),
    );
    this.taskDefinitionAccess(fn, 'RunTask');
    this.passRoles(
      fn,
      this.environments.map((env) => env.oneOff),
    );
    // It looks for the phase's tasks an earlier attempt started (by startedBy, and among the
    // family's stopped tasks), and stops the ones it started when another fails to start.
    this.taskAccess(fn, STOP_RUN_TASKS);
  }

  /** CheckTasks: describe the tasks. */
  watchTasks(fn: lambda.IFunction): void {
    this.taskAccess(fn, ['ecs:DescribeTasks']);
  }

  /** StopTasks: find the run's tasks and stop them. */
  stopTasks(fn: lambda.IFunction): void {
    this.taskAccess(fn, STOP_RUN_TASKS);
  }

  /** StartDeployments: look for active deployments, create ours. */
  createDeployments(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, CREATE_DEPLOYMENTS);
    this.targetAccess(fn);
    this.revisionAccess(fn);
  }

  /** CheckDeployments and AwaitRollbacks: read deployments and their targets; CheckDeployments also the alarms. */
  watchDeployments(fn: lambda.IFunction, alarms = false): void {
    this.deploymentAccess(fn, READ_DEPLOYMENTS);
    this.targetAccess(fn);
    if (alarms) this.alarmAccess(fn);
  }

  /**
   * AwaitRollbacks: read deployments and their targets; where groups have a ready wait
   * (`readyWaits`), end the ready wait of a redeploy of the previous revision. ContinueDeployment
   * has no resource type in the Service Authorization Reference: `*`.
   */
  watchRollbacks(fn: lambda.IFunction, readyWaits: boolean): void {
    this.watchDeployments(fn);
    if (readyWaits) this.anyDeployment(fn, ['codedeploy:ContinueDeployment']);
  }

  /**
   * CutOver: read the wave's deployments and targets, end their ready wait.
   * ContinueDeployment has no resource type in the Service Authorization Reference: `*`.
   */
  cutOver(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, READ_DEPLOYMENTS);
    this.targetAccess(fn);
    this.anyDeployment(fn, ['codedeploy:ContinueDeployment']);
  }

  /** Bake: read the configured alarms (nothing to grant when there are none). */
  watchAlarms(fn: lambda.IFunction): void {
    this.alarmAccess(fn);
  }

  /**
   * DescribeAlarms and DescribeAlarmHistory on the configured alarms: by ARN when every one is
   * a metric alarm of this app, else on `*`, which CloudWatch requires to return composite
   * alarms (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/permissions-reference-cw.html).
   */
  private alarmAccess(fn: lambda.IFunction): void {
    const alarms = this.environments.flatMap((env) => env.alarms);
    if (alarms.length === 0) return;
    const metricOnly = alarms.every(
      (alarm) => Resource.isOwnedResource(alarm) && alarm instanceof cloudwatch.Alarm,
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: READ_ALARMS,
        resources: metricOnly ? unique(alarms.map((alarm) => alarm.alarmArn)) : ['*'],
      }),
    );
  }

  /**
   * RollBack: stop in-flight deployments, redeploy previous revisions, adopt CodeDeploy's
   * rollbacks. StopDeployment has no resource type in the Service Authorization Reference: `*`.
   */
  rollBack(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, CREATE_DEPLOYMENTS);
    this.anyDeployment(fn, ['codedeploy:StopDeployment']);
    this.revisionAccess(fn);
  }

  /**
   * RetireOldWorkers: read the workers' deployments and targets, end their termination wait.
   * ContinueDeployment has no resource type in the Service Authorization Reference: `*`.
   */
  retireWorkers(fn: lambda.IFunction): void {
    this.deploymentAccess(fn, READ_DEPLOYMENTS);
    this.targetAccess(fn);
    this.anyDeployment(fn, ['codedeploy:ContinueDeployment']);
  }

  /** Cleanup: read the failed execution, stop its tasks, roll its deployments back and follow them (`readyWaits`: as AwaitRollbacks). */
  cleanup(fn: lambda.IFunction, readyWaits: boolean): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [this.executionsArn],
      }),
    );
    this.taskAccess(fn, STOP_RUN_TASKS);
    this.targetAccess(fn);
    this.rollBack(fn);
    if (readyWaits) this.anyDeployment(fn, ['codedeploy:ContinueDeployment']);
  }

  /**
   * Task definition reads (and, for Plan, listing, reading tags and registration; tagging
   * on create). These ECS actions have no resource-level permissions, so the resource is
   * `*`; tagging is allowed only as part of the create call.
   */
  private taskDefinitionAccess(
    fn: lambda.IFunction,
    createAction: 'RegisterTaskDefinition' | 'RunTask',
  ): void {
    const actions = ['ecs:DescribeTaskDefinition'];
    if (createAction === 'RegisterTaskDefinition') {
      // Plan lists a family's revisions, and describes them with their tags (`include: ['TAGS']`).
      actions.push('ecs:ListTaskDefinitions', 'ecs:ListTagsForResource', 'ecs:RegisterTaskDefinition');
    }
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: ['*'] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:TagResource'],
        resources: ['*'],
        conditions: { StringEquals: { 'ecs:CreateAction': createAction } },
      }),
    );
  }

  /** Task actions on any task of the configured clusters: task ARNs are only known at runtime. */
  private taskAccess(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions,
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': this.clusterArns } },
      }),
    );
  }

  /** iam:PassRole for exactly the task and execution roles of these task definitions, to ECS tasks only. */
  private passRoles(fn: lambda.IFunction, taskDefinitions: ecs.TaskDefinition[]): void {
    const roleArns = unique(
      taskDefinitions.flatMap((taskDefinition) => [
        taskDefinition.taskRole.roleArn,
        ...(taskDefinition.executionRole ? [taskDefinition.executionRole.roleArn] : []),
      ]),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: roleArns,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /** Deployment actions on the configured deployment groups. */
  private deploymentAccess(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: this.deploymentGroupArns }));
  }

  /** Deployment target reads; they authorize on no resource type, so `*`. */
  private targetAccess(fn: lambda.IFunction): void {
    this.anyDeployment(fn, READ_TARGETS);
  }

  /** CodeDeploy actions that name no resource type (the Service Authorization Reference): `*`. */
  private anyDeployment(fn: lambda.IFunction, actions: string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: ['*'] }));
  }

  /**
   * What CreateDeployment also needs: every deployment configuration of the account in the
   * groups' Regions (GetDeploymentConfig), and the applications' revisions.
   */
  private revisionAccess(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codedeploy:GetDeploymentConfig'],
        resources: this.deploymentConfigArns,
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'],
        resources: this.applicationArns,
      }),
    );
  }
}

/** Distinct values, tokens compared by their string form. */
function unique(values: string[]): string[] {
  return [...new Set(values)];
}
