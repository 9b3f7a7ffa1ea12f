/**
 * One authorization AWS makes for a request: an action on a resource, with the
 * request's condition keys. An operation may need several (RunTask: the task
 * definition, and iam:PassRole for each of its roles).
 */
export interface AccessCheck {
  action: string;
  /** The resource ARN, or `*` for actions without resource-level permissions. */
  resource: string;
  context?: Record<string, string | string[]>;
}

/** What a mapping row may look up in the local AWS's own state to name a resource. */
export interface ResourceLookups {
  /** A task definition by family, `family:revision` or ARN, with the roles it passes to ECS. */
  taskDefinition(
    region: string,
    reference: string,
  ): { arn: string; taskRoleArn?: string; executionRoleArn?: string } | undefined;
  /** The revision RegisterTaskDefinition would create next in `family`. */
  nextTaskDefinitionRevision(region: string, family: string): number;
  /** A deployment's application, group and deployment configuration. */
  deployment(
    region: string,
    deploymentId: string,
  ): { applicationName: string; deploymentGroupName: string } | undefined;
  /** A deployment group's deployment configuration. */
  deploymentConfigOf(
    region: string,
    applicationName: string,
    deploymentGroupName: string,
  ): string | undefined;
}

/** Where a row is: the Region of the request and the account. */
export interface RequestScope {
  region: string;
  accountId: string;
  lookups: ResourceLookups;
}

/** The authorizations of one operation, from its request. */
export type OperationAccess = (input: Record<string, unknown>, scope: RequestScope) => AccessCheck[];

/** A row of the table: the authorizations and the page that defines them. */
export interface OperationRow {
  checks: OperationAccess;
  source: string;
}

const SAR = 'https://docs.aws.amazon.com/service-authorization/latest/reference';
const ECS_SOURCE = `${SAR}/list_amazonelasticcontainerservice.html`;
const ECS_TAG_ON_CREATE =
  'https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html';
const CODEDEPLOY_SOURCE = `${SAR}/list_awscodedeploy.html`;
const LOGS_SOURCE = `${SAR}/list_amazoncloudwatchlogs.html`;
const SFN_SOURCE = `${SAR}/list_awsstepfunctions.html`;
const EVENTS_SOURCE = `${SAR}/list_amazoneventbridge.html`;
const SSM_SOURCE = `${SAR}/list_awssystemsmanager.html`;
const CLOUDWATCH_SOURCE = `${SAR}/list_amazoncloudwatch.html`;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const records = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value)
    ? value.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
    : [];
const lastSegment = (value: string) => value.slice(value.lastIndexOf('/') + 1);

function arn(service: string, scope: RequestScope, resource: string): string {
  return `arn:aws:${service}:${scope.region}:${scope.accountId}:${resource}`;
}

// ---- ECS -------------------------------------------------------------------------------

function clusterName(input: Record<string, unknown>, field = 'cluster'): string {
  return lastSegment(str(input[field]) ?? 'default');
}

function clusterArn(input: Record<string, unknown>, scope: RequestScope): string {
  const given = str(input.cluster);
  return given?.startsWith('arn:') ? given : arn('ecs', scope, `cluster/${given ?? 'default'}`);
}

/** A task or service ARN from an id, a name or an ARN (long ARN format: `<type>/<cluster>/<id>`). */
function inCluster(
  type: 'task' | 'service',
  ref: string,
  input: Record<string, unknown>,
  scope: RequestScope,
) {
  return ref.startsWith('arn:') ? ref : arn('ecs', scope, `${type}/${clusterName(input)}/${ref}`);
}

/** iam:PassRole to ECS tasks for each role given. */
function passRoles(roleArns: Array<string | undefined>, service: string): AccessCheck[] {
  return [...new Set(roleArns.filter((role): role is string => !!role))].map((role) => ({
    action: 'iam:PassRole',
    resource: role,
    context: { 'iam:PassedToService': service },
  }));
}

/** Tag-on-create: ecs:TagResource with ecs:CreateAction when the create call carries tags. */
function tagOnCreate(tags: unknown, resource: string, createAction: string): AccessCheck[] {
  const keys = records(tags)
    .map((tag) => str(tag.key))
    .filter((key): key is string => !!key);
  if (keys.length === 0) return [];
  const requestTags = Object.fromEntries(
    records(tags).map((tag) => [`aws:RequestTag/${String(tag.key)}`, String(tag.value ?? '')]),
  );
  return [
    {
      action: 'ecs:TagResource',
      resource,
      context: { 'ecs:CreateAction': createAction, 'aws:TagKeys': keys, ...requestTags },
    },
  ];
}

function taskChecks(action: string, refs: string[], input: Record<string, unknown>, scope: RequestScope) {
  return refs.map((ref) => ({
    action,
    resource: inCluster('task', ref, input, scope),
    context: { 'ecs:cluster': clusterArn(input, scope) },
  }));
}

// ---- CodeDeploy ------------------------------------------------------------------------

function groupArn(scope: RequestScope, application: string, group: string): string {
  return arn('codedeploy', scope, `deploymentgroup:${application}/${group}`);
}

/** The group ARN of each deployment the local AWS knows; unknown ids are the handler's to reject. */
function deploymentGroupsOf(action: string, ids: string[], scope: RequestScope): AccessCheck[] {
  const resources = new Set<string>();
  for (const id of ids) {
    const deployment = scope.lookups.deployment(scope.region, id);
    if (deployment)
      resources.add(groupArn(scope, deployment.applicationName, deployment.deploymentGroupName));
  }
  return [...resources].map((resource) => ({ action, resource }));
}

// ---- CloudWatch Logs -------------------------------------------------------------------

/** Log group actions are authorized on `log-group:<name>:log-stream:` (an empty stream name). */
function logGroupArn(input: Record<string, unknown>, scope: RequestScope): string {
  const identifier = str(input.logGroupIdentifier);
  const name = identifier?.startsWith('arn:')
    ? identifier.replace(/^arn:[^:]+:logs:[^:]*:\d*:log-group:/, '').replace(/:\*$/, '')
    : (identifier ?? str(input.logGroupName) ?? '');
  return arn('logs', scope, `log-group:${name}:log-stream:`);
}

function logStreamArn(input: Record<string, unknown>, scope: RequestScope): string {
  return `${logGroupArn(input, scope)}${str(input.logStreamName) ?? ''}`;
}

// ---- EventBridge -----------------------------------------------------------------------

function busArn(nameOrArn: string | undefined, scope: RequestScope): string {
  if (nameOrArn?.startsWith('arn:')) return nameOrArn;
  return arn('events', scope, `event-bus/${nameOrArn ?? 'default'}`);
}

function ruleArn(input: Record<string, unknown>, scope: RequestScope): string {
  const bus = lastSegment(str(input.EventBusName) ?? 'default');
  const name = str(input.Name) ?? '';
  return arn('events', scope, bus === 'default' ? `rule/${name}` : `rule/${bus}/${name}`);
}

// ---- SSM -------------------------------------------------------------------------------

/** A parameter (or path) ARN: the name without its leading slash after `parameter/`. */
function parameterArn(name: string | undefined, scope: RequestScope): string {
  return arn('ssm', scope, `parameter/${(name ?? '').replace(/^\//, '')}`);
}

// ---- CloudWatch -----------------------------------------------------------------------

function alarmArn(name: string, scope: RequestScope): string {
  return arn('cloudwatch', scope, `alarm:${name}`);
}

/**
 * One check per alarm the request names, or every alarm (`alarm:*`) when it names none (a
 * listing by prefix or state): a policy naming some alarms does not allow listing them all.
 */
function alarmChecks(action: string, names: string[], scope: RequestScope): AccessCheck[] {
  const resources = names.length > 0 ? names : ['*'];
  return resources.map((name) => ({ action, resource: alarmArn(name, scope) }));
}

const only =
  (action: string, resource = '*'): OperationAccess =>
  () => [{ action, resource }];

/**
 * Every operation the local AWS serves, as `<service>.<Operation>`, with the
 * authorizations AWS makes for it: the actions, the resource ARNs named by the request,
 * and the condition keys the request sets, as the Service Authorization Reference
 * defines them (each row names its page). An operation missing here is denied to every
 * role, so that a new call is mapped before a handler relies on it.
 */
export const OPERATION_ACCESS: Record<string, OperationRow> = {
  // ---- ECS ----
  'ecs.CreateCluster': {
    source: ECS_SOURCE,
    checks: (input, scope) => {
      const resource = arn('ecs', scope, `cluster/${str(input.clusterName) ?? 'default'}`);
      return [
        { action: 'ecs:CreateCluster', resource },
        ...tagOnCreate(input.tags, resource, 'CreateCluster'),
      ];
    },
  },
  'ecs.DescribeClusters': {
    source: ECS_SOURCE,
    checks: (input, scope) => {
      const clusters = strings(input.clusters);
      return (clusters.length > 0 ? clusters : ['default']).map((cluster) => ({
        action: 'ecs:DescribeClusters',
        resource: cluster.startsWith('arn:') ? cluster : arn('ecs', scope, `cluster/${cluster}`),
      }));
    },
  },
  'ecs.ListClusters': { source: ECS_SOURCE, checks: only('ecs:ListClusters') },
  'ecs.PutClusterCapacityProviders': {
    source: ECS_SOURCE,
    checks: (input, scope) => {
      const cluster = str(input.cluster) ?? 'default';
      return [
        {
          action: 'ecs:PutClusterCapacityProviders',
          resource: cluster.startsWith('arn:') ? cluster : arn('ecs', scope, `cluster/${cluster}`),
        },
      ];
    },
  },
  'ecs.RegisterTaskDefinition': {
    source: `${ECS_SOURCE} ; ${ECS_TAG_ON_CREATE}`,
    checks: (input, scope) => {
      const family = str(input.family) ?? '';
      const revision = scope.lookups.nextTaskDefinitionRevision(scope.region, family);
      const resource = arn('ecs', scope, `task-definition/${family}:${revision}`);
      return [
        { action: 'ecs:RegisterTaskDefinition', resource },
        ...passRoles([str(input.taskRoleArn), str(input.executionRoleArn)], 'ecs-tasks.amazonaws.com'),
        ...tagOnCreate(input.tags, resource, 'RegisterTaskDefinition'),
      ];
    },
  },
  'ecs.DescribeTaskDefinition': { source: ECS_SOURCE, checks: only('ecs:DescribeTaskDefinition') },
  'ecs.ListTaskDefinitions': { source: ECS_SOURCE, checks: only('ecs:ListTaskDefinitions') },
  'ecs.ListTaskDefinitionFamilies': { source: ECS_SOURCE, checks: only('ecs:ListTaskDefinitionFamilies') },
  'ecs.DeregisterTaskDefinition': { source: ECS_SOURCE, checks: only('ecs:DeregisterTaskDefinition') },
  'ecs.RunTask': {
    source: `${ECS_SOURCE} ; ${ECS_TAG_ON_CREATE}`,
    checks: (input, scope) => {
      const reference = str(input.taskDefinition) ?? '';
      const definition = scope.lookups.taskDefinition(scope.region, reference);
      const overrides = (input.overrides ?? {}) as Record<string, unknown>;
      return [
        {
          action: 'ecs:RunTask',
          resource: definition?.arn ?? arn('ecs', scope, `task-definition/${lastSegment(reference)}`),
          context: { 'ecs:cluster': clusterArn(input, scope) },
        },
        ...passRoles(
          [
            str(overrides.taskRoleArn) ?? definition?.taskRoleArn,
            str(overrides.executionRoleArn) ?? definition?.executionRoleArn,
          ],
          'ecs-tasks.amazonaws.com',
        ),
        // The task's id is ECS's to choose: any task of the cluster.
        ...tagOnCreate(input.tags, arn('ecs', scope, `task/${clusterName(input)}/*`), 'RunTask'),
      ];
    },
  },
  'ecs.DescribeTasks': {
    source: ECS_SOURCE,
    checks: (input, scope) => taskChecks('ecs:DescribeTasks', strings(input.tasks), input, scope),
  },
  'ecs.StopTask': {
    source: ECS_SOURCE,
    checks: (input, scope) => taskChecks('ecs:StopTask', [str(input.task) ?? ''], input, scope),
  },
  'ecs.ListTasks': {
    source: ECS_SOURCE,
    checks: (input, scope) => {
      const instance = str(input.containerInstance);
      return [
        {
          action: 'ecs:ListTasks',
          resource: instance
            ? instance.startsWith('arn:')
              ? instance
              : arn('ecs', scope, `container-instance/${clusterName(input)}/${instance}`)
            : '*',
          context: { 'ecs:cluster': clusterArn(input, scope) },
        },
      ];
    },
  },
  'ecs.DescribeServices': {
    source: ECS_SOURCE,
    checks: (input, scope) =>
      strings(input.services).map((service) => ({
        action: 'ecs:DescribeServices',
        resource: inCluster('service', service, input, scope),
        context: { 'ecs:cluster': clusterArn(input, scope) },
      })),
  },
  'ecs.ListServices': {
    source: ECS_SOURCE,
    checks: (input, scope) => [
      { action: 'ecs:ListServices', resource: '*', context: { 'ecs:cluster': clusterArn(input, scope) } },
    ],
  },
  'ecs.TagResource': {
    source: ECS_SOURCE,
    checks: (input) => [{ action: 'ecs:TagResource', resource: str(input.resourceArn) ?? '*' }],
  },
  'ecs.UntagResource': {
    source: ECS_SOURCE,
    checks: (input) => [{ action: 'ecs:UntagResource', resource: str(input.resourceArn) ?? '*' }],
  },
  'ecs.ListTagsForResource': {
    source: ECS_SOURCE,
    checks: (input) => [{ action: 'ecs:ListTagsForResource', resource: str(input.resourceArn) ?? '*' }],
  },

  // ---- CodeDeploy ----
  'codedeploy.CreateApplication': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => [
      {
        action: 'codedeploy:CreateApplication',
        resource: arn('codedeploy', scope, `application:${str(input.applicationName) ?? ''}`),
      },
    ],
  },
  'codedeploy.GetApplication': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => [
      {
        action: 'codedeploy:GetApplication',
        resource: arn('codedeploy', scope, `application:${str(input.applicationName) ?? ''}`),
      },
    ],
  },
  'codedeploy.ListApplications': { source: CODEDEPLOY_SOURCE, checks: only('codedeploy:ListApplications') },
  'codedeploy.CreateDeploymentGroup': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => [
      {
        action: 'codedeploy:CreateDeploymentGroup',
        resource: groupArn(scope, str(input.applicationName) ?? '', str(input.deploymentGroupName) ?? ''),
      },
      ...passRoles([str(input.serviceRoleArn)], 'codedeploy.amazonaws.com'),
    ],
  },
  'codedeploy.GetDeploymentGroup': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => [
      {
        action: 'codedeploy:GetDeploymentGroup',
        resource: groupArn(scope, str(input.applicationName) ?? '', str(input.deploymentGroupName) ?? ''),
      },
    ],
  },
  'codedeploy.ListDeploymentGroups': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => [
      {
        action: 'codedeploy:ListDeploymentGroups',
        resource: arn('codedeploy', scope, `application:${str(input.applicationName) ?? ''}`),
      },
    ],
  },
  'codedeploy.CreateDeployment': {
    // CreateDeployment also reads the deployment configuration and registers the
    // revision: amazon-ecs-deploy-task-definition calls only GetDeploymentGroup,
    // CreateDeployment and GetDeployment, yet documents GetDeploymentConfig and
    // RegisterApplicationRevision as its minimal permissions.
    source: `${CODEDEPLOY_SOURCE} ; https://github.com/aws-actions/amazon-ecs-deploy-task-definition#aws-codedeploy-support`,
    checks: (input, scope) => {
      const application = str(input.applicationName) ?? '';
      const group = str(input.deploymentGroupName) ?? '';
      const config =
        str(input.deploymentConfigName) ??
        scope.lookups.deploymentConfigOf(scope.region, application, group) ??
        'CodeDeployDefault.ECSAllAtOnce';
      return [
        { action: 'codedeploy:CreateDeployment', resource: groupArn(scope, application, group) },
        {
          action: 'codedeploy:GetDeploymentConfig',
          resource: arn('codedeploy', scope, `deploymentconfig:${config}`),
        },
        {
          action: 'codedeploy:RegisterApplicationRevision',
          resource: arn('codedeploy', scope, `application:${application}`),
        },
      ];
    },
  },
  'codedeploy.GetDeployment': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) =>
      deploymentGroupsOf('codedeploy:GetDeployment', [str(input.deploymentId) ?? ''], scope),
  },
  'codedeploy.BatchGetDeployments': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) =>
      deploymentGroupsOf('codedeploy:BatchGetDeployments', strings(input.deploymentIds), scope),
  },
  'codedeploy.ListDeployments': {
    source: CODEDEPLOY_SOURCE,
    checks: (input, scope) => {
      const application = str(input.applicationName);
      const group = str(input.deploymentGroupName);
      return [
        {
          action: 'codedeploy:ListDeployments',
          resource:
            application && group
              ? groupArn(scope, application, group)
              : arn('codedeploy', scope, 'deploymentgroup:*'),
        },
      ];
    },
  },
  // No resource-level permissions: the reference lists no resource type for these, and an
  // AWS engineer confirmed it for StopDeployment
  // (https://github.com/awsdocs/aws-codedeploy-user-guide/issues/18).
  'codedeploy.StopDeployment': { source: CODEDEPLOY_SOURCE, checks: only('codedeploy:StopDeployment') },
  'codedeploy.ContinueDeployment': {
    source: CODEDEPLOY_SOURCE,
    checks: only('codedeploy:ContinueDeployment'),
  },
  'codedeploy.ListDeploymentTargets': {
    source: CODEDEPLOY_SOURCE,
    checks: only('codedeploy:ListDeploymentTargets'),
  },
  'codedeploy.BatchGetDeploymentTargets': {
    source: CODEDEPLOY_SOURCE,
    checks: only('codedeploy:BatchGetDeploymentTargets'),
  },
  'codedeploy.GetDeploymentTarget': {
    source: CODEDEPLOY_SOURCE,
    checks: only('codedeploy:GetDeploymentTarget'),
  },

  // ---- CloudWatch Logs ----
  'logs.CreateLogGroup': {
    source: `${LOGS_SOURCE} ; https://github.com/elastic/apm-aws-lambda/issues/526`,
    checks: (input, scope) => [{ action: 'logs:CreateLogGroup', resource: logGroupArn(input, scope) }],
  },
  'logs.DeleteLogGroup': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:DeleteLogGroup', resource: logGroupArn(input, scope) }],
  },
  'logs.PutRetentionPolicy': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:PutRetentionPolicy', resource: logGroupArn(input, scope) }],
  },
  'logs.DescribeLogGroups': { source: LOGS_SOURCE, checks: only('logs:DescribeLogGroups') },
  'logs.DescribeLogStreams': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:DescribeLogStreams', resource: logGroupArn(input, scope) }],
  },
  'logs.FilterLogEvents': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:FilterLogEvents', resource: logGroupArn(input, scope) }],
  },
  'logs.CreateLogStream': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:CreateLogStream', resource: logStreamArn(input, scope) }],
  },
  'logs.DeleteLogStream': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:DeleteLogStream', resource: logStreamArn(input, scope) }],
  },
  'logs.PutLogEvents': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:PutLogEvents', resource: logStreamArn(input, scope) }],
  },
  'logs.GetLogEvents': {
    source: LOGS_SOURCE,
    checks: (input, scope) => [{ action: 'logs:GetLogEvents', resource: logStreamArn(input, scope) }],
  },

  // ---- Step Functions ----
  'sfn.CreateStateMachine': {
    source: SFN_SOURCE,
    checks: (input, scope) => [
      {
        action: 'states:CreateStateMachine',
        resource: arn('states', scope, `stateMachine:${str(input.name) ?? ''}`),
      },
      ...passRoles([str(input.roleArn)], 'states.amazonaws.com'),
    ],
  },
  'sfn.DescribeStateMachine': {
    source: SFN_SOURCE,
    checks: (input) => [
      { action: 'states:DescribeStateMachine', resource: str(input.stateMachineArn) ?? '' },
    ],
  },
  'sfn.ListStateMachines': { source: SFN_SOURCE, checks: only('states:ListStateMachines') },
  'sfn.StartExecution': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:StartExecution', resource: str(input.stateMachineArn) ?? '' }],
  },
  'sfn.ListExecutions': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:ListExecutions', resource: str(input.stateMachineArn) ?? '' }],
  },
  'sfn.DescribeExecution': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:DescribeExecution', resource: str(input.executionArn) ?? '' }],
  },
  'sfn.DescribeStateMachineForExecution': {
    source: SFN_SOURCE,
    checks: (input) => [
      { action: 'states:DescribeStateMachineForExecution', resource: str(input.executionArn) ?? '' },
    ],
  },
  'sfn.GetExecutionHistory': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:GetExecutionHistory', resource: str(input.executionArn) ?? '' }],
  },
  'sfn.StopExecution': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:StopExecution', resource: str(input.executionArn) ?? '' }],
  },
  'sfn.RedriveExecution': {
    source: SFN_SOURCE,
    checks: (input) => [{ action: 'states:RedriveExecution', resource: str(input.executionArn) ?? '' }],
  },

  // ---- EventBridge ----
  'events.PutEvents': {
    source: EVENTS_SOURCE,
    checks: (input, scope) => {
      const byBus = new Map<string, { sources: Set<string>; detailTypes: Set<string> }>();
      for (const entry of records(input.Entries)) {
        const bus = busArn(str(entry.EventBusName), scope);
        const seen = byBus.get(bus) ?? { sources: new Set<string>(), detailTypes: new Set<string>() };
        if (str(entry.Source)) seen.sources.add(String(entry.Source));
        if (str(entry.DetailType)) seen.detailTypes.add(String(entry.DetailType));
        byBus.set(bus, seen);
      }
      return [...byBus].map(([resource, { sources, detailTypes }]) => ({
        action: 'events:PutEvents',
        resource,
        context: { 'events:source': [...sources], 'events:detail-type': [...detailTypes] },
      }));
    },
  },
  'events.PutRule': {
    source: EVENTS_SOURCE,
    checks: (input, scope) => [{ action: 'events:PutRule', resource: ruleArn(input, scope) }],
  },
  'events.DescribeRule': {
    source: EVENTS_SOURCE,
    checks: (input, scope) => [{ action: 'events:DescribeRule', resource: ruleArn(input, scope) }],
  },
  'events.DeleteRule': {
    source: EVENTS_SOURCE,
    checks: (input, scope) => [{ action: 'events:DeleteRule', resource: ruleArn(input, scope) }],
  },
  'events.ListRules': { source: EVENTS_SOURCE, checks: only('events:ListRules') },

  // ---- CloudWatch alarms ----
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/permissions-reference-cw.html:
  // composite alarms are only returned to a DescribeAlarms/DescribeAlarmHistory permission scoped to `*`.
  'cloudwatch.PutMetricAlarm': {
    source: CLOUDWATCH_SOURCE,
    checks: (input, scope) => [
      { action: 'cloudwatch:PutMetricAlarm', resource: alarmArn(str(input.AlarmName) ?? '', scope) },
    ],
  },
  'cloudwatch.DeleteAlarms': {
    source: CLOUDWATCH_SOURCE,
    checks: (input, scope) => alarmChecks('cloudwatch:DeleteAlarms', strings(input.AlarmNames), scope),
  },
  'cloudwatch.SetAlarmState': {
    source: CLOUDWATCH_SOURCE,
    checks: (input, scope) => [
      { action: 'cloudwatch:SetAlarmState', resource: alarmArn(str(input.AlarmName) ?? '', scope) },
    ],
  },
  'cloudwatch.DescribeAlarms': {
    source: `${CLOUDWATCH_SOURCE} ; https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/permissions-reference-cw.html`,
    checks: (input, scope) => alarmChecks('cloudwatch:DescribeAlarms', strings(input.AlarmNames), scope),
  },
  'cloudwatch.DescribeAlarmHistory': {
    source: `${CLOUDWATCH_SOURCE} ; https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/permissions-reference-cw.html`,
    checks: (input, scope) => {
      const name = str(input.AlarmName);
      return alarmChecks('cloudwatch:DescribeAlarmHistory', name ? [name] : [], scope);
    },
  },

  // ---- SSM Parameter Store ----
  'ssm.PutParameter': {
    source: SSM_SOURCE,
    checks: (input, scope) => [
      { action: 'ssm:PutParameter', resource: parameterArn(str(input.Name), scope) },
    ],
  },
  'ssm.GetParameter': {
    source: SSM_SOURCE,
    checks: (input, scope) => [
      { action: 'ssm:GetParameter', resource: parameterArn(str(input.Name), scope) },
    ],
  },
  'ssm.GetParametersByPath': {
    // The path itself is the resource: .../parameter/<path without its leading slash>
    // (https://github.com/aws-ia/terraform-aws-control_tower_account_factory/issues/174).
    source: SSM_SOURCE,
    checks: (input, scope) => [
      {
        action: 'ssm:GetParametersByPath',
        resource: parameterArn(str(input.Path), scope),
        context:
          input.Recursive === undefined ? undefined : { 'ssm:Recursive': String(input.Recursive === true) },
      },
    ],
  },
};
