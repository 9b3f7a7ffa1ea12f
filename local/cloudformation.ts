import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionRequest, Tag } from '@aws-sdk/client-ecs';
import type { PutMetricAlarmInput } from './cloudwatch/alarms-model.js';
import type { AutoRollbackConfiguration, AutoRollbackEvent } from './codedeploy/model.js';
import type { PolicyDocument } from './iam/iam-model.js';
import type { LocalAws } from './local-aws.js';
import { ACCOUNT_ID } from './server.js';

/** A CloudFormation template, as `infra/` synthesizes it. */
export type Template = Record<string, unknown>;

/** How to deploy a template. */
export interface DeployOptions {
  /** The stack's Region. @default the template's `AWS::Region` uses resolve to this, us-east-1 */
  region?: string;
  /** Names generated resource names, as CloudFormation does. @default 'stepdeploy-local' */
  stackName?: string;
}

/** One resource of the deployed stack. */
export interface DeployedResource {
  type: string;
  /** What `Ref` returns. */
  physicalId: string;
  /** False for types the local AWS does not model (VPCs, load balancers...). */
  modelled: boolean;
}

/** What a template deployment created. */
export interface DeployedStack {
  stackName: string;
  region: string;
  resources: Record<string, DeployedResource>;
  /** State machine ARNs by logical id. */
  stateMachines: Record<string, string>;
  /** The ARN of the template's state machine; throws when it has none or several. */
  readonly stateMachineArn: string;
}

interface ResourceDefinition {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

/** Types the local AWS deploys, in the order they are created (dependencies first). */
const DEPLOY_ORDER = [
  'AWS::Logs::LogGroup',
  'AWS::ECS::Cluster',
  'AWS::ECS::TaskDefinition',
  'AWS::ECS::Service',
  'AWS::CodeDeploy::Application',
  'AWS::CodeDeploy::DeploymentGroup',
  'AWS::SSM::Parameter',
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::Function',
  'AWS::StepFunctions::StateMachine',
  'AWS::Events::Rule',
  // Policies name every other resource; a role's ARN is known from its name alone.
  'AWS::IAM::Role',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::Lambda::Permission',
];

/** The property that names a resource of each type (its `Ref`), and the longest name the type takes. */
const NAME_PROPERTIES: Partial<Record<string, { property: string; maxLength: number }>> = {
  'AWS::ECS::Cluster': { property: 'ClusterName', maxLength: 255 },
  'AWS::Logs::LogGroup': { property: 'LogGroupName', maxLength: 512 },
  'AWS::CodeDeploy::Application': { property: 'ApplicationName', maxLength: 100 },
  'AWS::CodeDeploy::DeploymentGroup': { property: 'DeploymentGroupName', maxLength: 100 },
  'AWS::Lambda::Function': { property: 'FunctionName', maxLength: 64 },
  'AWS::Events::Rule': { property: 'Name', maxLength: 64 },
  'AWS::IAM::Role': { property: 'RoleName', maxLength: 64 },
  'AWS::SSM::Parameter': { property: 'Name', maxLength: 2048 },
  'AWS::CloudWatch::Alarm': { property: 'AlarmName', maxLength: 255 },
};

/** The metadata key that names a Lambda function's handler verb (`lambdas/<verb>/handler.ts`). */
export const HANDLER_METADATA = 'stepdeploy:handler';

/** Dropped from objects and lists, as `Ref: AWS::NoValue` is. */
const NO_VALUE = Symbol('AWS::NoValue');

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const optionalString = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : String(value);

const lowerFirst = (key: string) => (/^[A-Z]/.test(key) ? `${key[0].toLowerCase()}${key.slice(1)}` : key);

/** Keys whose values are free-form maps: their keys are data, not property names. */
const FREE_FORM = new Set(['Options', 'DockerLabels']);

/** CloudFormation's PascalCase properties as the ECS API's camelCase request fields. */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      lowerFirst(key),
      FREE_FORM.has(key) ? field : camelKeys(field),
    ]),
  );
}

const tagsOf = (tags: unknown): Tag[] =>
  Array.isArray(tags)
    ? tags.filter(isRecord).map((tag) => ({ key: String(tag.Key), value: String(tag.Value) }))
    : [];

const lastSegment = (nameOrArn: string) => nameOrArn.split('/').pop() ?? nameOrArn;

const listOf = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/** A policy document as the template resolved it. */
function policyDocument(value: unknown, where: string): PolicyDocument {
  if (!isRecord(value) || value.Statement === undefined) {
    throw new Error(`${where} is not a policy document (an object with a Statement).`);
  }
  return value as unknown as PolicyDocument;
}

/**
 * Deploys a template into the local AWS: the ECS clusters, task definitions and services
 * (whose tasks start as processes), CodeDeploy applications and deployment groups, log
 * groups, CloudWatch metric alarms, Lambda functions, state machines, EventBridge rules and SSM parameters, with `Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::If` resolved to local names and
 * ARNs. Other resource types (VPC, IAM, load balancers...) get a physical id and nothing else.
 */
export async function deployTemplate(
  local: LocalAws,
  template: Template,
  options: DeployOptions = {},
): Promise<DeployedStack> {
  const deployer = new TemplateDeployer(
    local,
    template,
    options.region ?? 'us-east-1',
    options.stackName ?? 'stepdeploy-local',
  );
  return deployer.deploy();
}

class TemplateDeployer {
  private readonly resources: Record<string, ResourceDefinition>;
  private readonly parameters: Record<string, Record<string, unknown>>;
  private readonly conditions: Record<string, unknown>;
  private readonly conditionValues = new Map<string, boolean>();
  private readonly deployed = new Map<string, Promise<DeployedResource>>();

  constructor(
    private readonly local: LocalAws,
    template: Template,
    private readonly region: string,
    private readonly stackName: string,
  ) {
    if (!isRecord(template.Resources)) {
      throw new Error(
        'The template has no Resources section: pass the synthesized CloudFormation template (JSON object).',
      );
    }
    this.resources = template.Resources as Record<string, ResourceDefinition>;
    this.parameters = (isRecord(template.Parameters) ? template.Parameters : {}) as Record<
      string,
      Record<string, unknown>
    >;
    this.conditions = isRecord(template.Conditions) ? template.Conditions : {};
  }

  async deploy(): Promise<DeployedStack> {
    const included = Object.entries(this.resources).filter(
      ([, resource]) => resource.Condition === undefined || this.condition(resource.Condition),
    );
    for (const type of DEPLOY_ORDER) {
      for (const [logicalId, resource] of included) {
        if (resource.Type === type) await this.ensure(logicalId);
      }
    }
    const resources: Record<string, DeployedResource> = {};
    for (const [logicalId] of included) resources[logicalId] = await this.ensure(logicalId);
    const stateMachines = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.type === 'AWS::StepFunctions::StateMachine')
        .map(([id, r]) => [id, r.physicalId]),
    );
    return {
      stackName: this.stackName,
      region: this.region,
      resources,
      stateMachines,
      get stateMachineArn(): string {
        const arns = Object.values(stateMachines);
        if (arns.length !== 1) {
          throw new Error(
            `The template deploys ${arns.length} state machines (${Object.keys(stateMachines).join(', ') || 'none'}); pick one from stateMachines.`,
          );
        }
        return arns[0];
      },
    };
  }

  // ---- resources -----------------------------------------------------------------------

  private definition(logicalId: string): ResourceDefinition {
    const resource = this.resources[logicalId];
    if (!resource)
      throw new Error(`The template references resource ${logicalId}, which it does not define.`);
    return resource;
  }

  /** Creates the resource once (its dependencies on the way) and returns it. */
  private ensure(logicalId: string): Promise<DeployedResource> {
    let pending = this.deployed.get(logicalId);
    if (!pending) {
      pending = this.create(logicalId).catch((error: unknown) => {
        const resource = this.resources[logicalId];
        throw new Error(`Deploying ${logicalId} (${resource?.Type}) failed: ${(error as Error).message}`, {
          cause: error,
        });
      });
      this.deployed.set(logicalId, pending);
    }
    return pending;
  }

  /** The name CloudFormation would generate: stack, logical id and a stable suffix. */
  private generatedName(logicalId: string, maxLength = 64): string {
    const suffix = createHash('sha256')
      .update(`${this.stackName}/${logicalId}`)
      .digest('hex')
      .slice(0, 12)
      .toUpperCase();
    const prefix = `${this.stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
    return `${prefix}-${suffix}`;
  }

  /** The resource's own name property when set, else a generated one. */
  private async nameOf(logicalId: string, property: string, maxLength?: number): Promise<string> {
    const value = this.definition(logicalId).Properties?.[property];
    if (value === undefined) return this.generatedName(logicalId, maxLength);
    return String(await this.resolve(value, `${logicalId}.${property}`));
  }

  private arn(service: string, resource: string): string {
    return `arn:aws:${service}:${this.region}:${ACCOUNT_ID}:${resource}`;
  }

  /** `Ref` of a resource. Task definitions are registered first: their ARN carries the revision. */
  private async ref(logicalId: string): Promise<string> {
    const type = this.definition(logicalId).Type;
    switch (type) {
      case 'AWS::ECS::TaskDefinition':
      case 'AWS::ECS::Service':
      case 'AWS::StepFunctions::StateMachine':
        return (await this.ensure(logicalId)).physicalId;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${ACCOUNT_ID}:policy/${await this.nameOf(logicalId, 'ManagedPolicyName', 128)}`;
      default: {
        const named = NAME_PROPERTIES[type];
        return named
          ? this.nameOf(logicalId, named.property, named.maxLength)
          : this.generatedName(logicalId);
      }
    }
  }

  private async getAtt(logicalId: string, attribute: string): Promise<unknown> {
    const type = this.definition(logicalId).Type;
    const name = () => this.ref(logicalId);
    switch (`${type}.${attribute}`) {
      case 'AWS::ECS::Cluster.Arn':
        return this.arn('ecs', `cluster/${await name()}`);
      case 'AWS::ECS::TaskDefinition.TaskDefinitionArn':
        return name();
      case 'AWS::ECS::Service.ServiceArn':
        return name();
      case 'AWS::ECS::Service.Name':
        return lastSegment(await name());
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${await name()}:*`);
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${await name()}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return name();
      case 'AWS::StepFunctions::StateMachine.Name':
        return (await name()).split(':').pop();
      case 'AWS::Events::Rule.Arn':
        return this.arn('events', `rule/${await name()}`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return this.arn('cloudwatch', `alarm:${await name()}`);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${ACCOUNT_ID}:role/${await name()}`;
      case 'AWS::SSM::Parameter.Type':
      case 'AWS::SSM::Parameter.Value': {
        await this.ensure(logicalId);
        const parameter = this.local.ssm.getParameter(this.region, await name());
        return attribute === 'Type' ? parameter.Type : parameter.Value;
      }
      default:
        // Attributes of resources the local AWS does not model only need to be well-formed strings.
        return `${this.arn('local', `${logicalId}/${attribute}`)}`;
    }
  }

  private async create(logicalId: string): Promise<DeployedResource> {
    const resource = this.definition(logicalId);
    if (!DEPLOY_ORDER.includes(resource.Type)) {
      return { type: resource.Type, physicalId: await this.ref(logicalId), modelled: false };
    }
    const properties = (await this.resolve(resource.Properties ?? {}, logicalId)) as Record<string, unknown>;
    const { local, region } = this;
    const modelled = (physicalId: string): DeployedResource => ({
      type: resource.Type,
      physicalId,
      modelled: true,
    });
    switch (resource.Type) {
      case 'AWS::SSM::Parameter': {
        const name = await this.ref(logicalId);
        local.ssm.putParameter(region, {
          Name: name,
          Value: properties.Value === undefined ? undefined : String(properties.Value),
          Type: properties.Type === undefined ? undefined : String(properties.Type),
          Tier: properties.Tier === undefined ? undefined : String(properties.Tier),
          Description: properties.Description === undefined ? undefined : String(properties.Description),
          DataType: properties.DataType === undefined ? undefined : String(properties.DataType),
          Overwrite: true,
        });
        return modelled(name);
      }
      case 'AWS::Logs::LogGroup': {
        const name = await this.ref(logicalId);
        local.logs.createLogGroup(region, name, {
          retentionInDays:
            properties.RetentionInDays === undefined ? undefined : Number(properties.RetentionInDays),
          ifMissing: true,
        });
        return modelled(name);
      }
      case 'AWS::ECS::Cluster': {
        const name = await this.ref(logicalId);
        local.ecs.createCluster(region, name, tagsOf(properties.Tags));
        return modelled(name);
      }
      case 'AWS::ECS::TaskDefinition': {
        const request = camelKeys(properties) as RegisterTaskDefinitionRequest;
        request.family ??= this.generatedName(logicalId, 255);
        request.tags = tagsOf(properties.Tags);
        if (request.cpu !== undefined) request.cpu = String(request.cpu);
        if (request.memory !== undefined) request.memory = String(request.memory);
        const registered = local.ecs.registerTaskDefinition(region, request);
        return modelled(registered.taskDefinitionArn as string);
      }
      case 'AWS::ECS::Service': {
        const cluster = lastSegment(String(properties.Cluster ?? 'default'));
        const name =
          properties.ServiceName === undefined
            ? this.generatedName(logicalId, 255)
            : String(properties.ServiceName);
        const controller = isRecord(properties.DeploymentController)
          ? properties.DeploymentController
          : undefined;
        const service = await local.ecs.createService({
          region,
          cluster,
          name,
          taskDefinitionArn: String(properties.TaskDefinition),
          desiredCount: properties.DesiredCount === undefined ? 1 : Number(properties.DesiredCount),
          loadBalancers: camelKeys(properties.LoadBalancers ?? []) as never,
          deploymentController: controller
            ? { type: String(controller.Type ?? 'ECS') as 'ECS' | 'CODE_DEPLOY' | 'EXTERNAL' }
            : undefined,
          tags: tagsOf(properties.Tags),
        });
        return modelled(service.service.serviceArn as string);
      }
      case 'AWS::CodeDeploy::Application': {
        const name = await this.ref(logicalId);
        local.codedeploy.createApplication(region, name);
        return modelled(name);
      }
      case 'AWS::CodeDeploy::DeploymentGroup': {
        const name = await this.ref(logicalId);
        const blueGreen = isRecord(properties.BlueGreenDeploymentConfiguration)
          ? properties.BlueGreenDeploymentConfiguration
          : {};
        const ready = isRecord(blueGreen.DeploymentReadyOption) ? blueGreen.DeploymentReadyOption : undefined;
        const terminate = isRecord(blueGreen.TerminateBlueInstancesOnDeploymentSuccess)
          ? blueGreen.TerminateBlueInstancesOnDeploymentSuccess
          : undefined;
        const rollback = isRecord(properties.AutoRollbackConfiguration)
          ? properties.AutoRollbackConfiguration
          : undefined;
        const services = Array.isArray(properties.ECSServices) ? properties.ECSServices.filter(isRecord) : [];
        local.codedeploy.createDeploymentGroup(region, {
          applicationName: String(properties.ApplicationName),
          deploymentGroupName: name,
          serviceRoleArn:
            properties.ServiceRoleArn === undefined ? undefined : String(properties.ServiceRoleArn),
          deploymentConfigName:
            properties.DeploymentConfigName === undefined
              ? undefined
              : String(properties.DeploymentConfigName),
          ecsServices: services.map((s) => ({
            clusterName: lastSegment(String(s.ClusterName)),
            serviceName: lastSegment(String(s.ServiceName)),
          })),
          deploymentReadyOption: ready && {
            actionOnTimeout:
              ready.ActionOnTimeout === 'STOP_DEPLOYMENT' ? 'STOP_DEPLOYMENT' : 'CONTINUE_DEPLOYMENT',
            waitTimeInMinutes: ready.WaitTimeInMinutes === undefined ? 0 : Number(ready.WaitTimeInMinutes),
          },
          terminationWaitTimeInMinutes:
            terminate?.TerminationWaitTimeInMinutes === undefined
              ? 0
              : Number(terminate.TerminationWaitTimeInMinutes),
          autoRollbackConfiguration: rollback && autoRollbackOf(rollback),
          loadBalancerInfo: camelKeys(properties.LoadBalancerInfo),
        });
        return modelled(name);
      }
      case 'AWS::CloudWatch::Alarm': {
        const name = await this.ref(logicalId);
        local.cloudwatch.putMetricAlarm(region, { ...alarmInput(properties), AlarmName: name });
        return modelled(name);
      }
      case 'AWS::Lambda::Function': {
        const name = await this.ref(logicalId);
        const verb = resource.Metadata?.[HANDLER_METADATA];
        // Functions without the metadata (CDK's log retention or custom resources) are not part of the release flow.
        if (typeof verb !== 'string') return { type: resource.Type, physicalId: name, modelled: false };
        const environment =
          isRecord(properties.Environment) && isRecord(properties.Environment.Variables)
            ? Object.fromEntries(
                Object.entries(properties.Environment.Variables).map(([k, v]) => [k, String(v)]),
              )
            : {};
        local.lambdas.register({
          region,
          functionName: name,
          arn: this.arn('lambda', `function:${name}`),
          verb,
          environment,
          timeoutSeconds: properties.Timeout === undefined ? 3 : Number(properties.Timeout),
          roleArn: properties.Role === undefined ? undefined : String(properties.Role),
          memorySizeMb: properties.MemorySize === undefined ? 128 : Number(properties.MemorySize),
          logging: isRecord(properties.LoggingConfig)
            ? {
                format: properties.LoggingConfig.LogFormat === 'JSON' ? 'JSON' : 'Text',
                applicationLogLevel: optionalString(properties.LoggingConfig.ApplicationLogLevel),
                systemLogLevel: optionalString(properties.LoggingConfig.SystemLogLevel),
                logGroup: optionalString(properties.LoggingConfig.LogGroup),
              }
            : undefined,
        });
        return modelled(name);
      }
      case 'AWS::StepFunctions::StateMachine': {
        const name = await this.nameOf(logicalId, 'StateMachineName', 80);
        let definition = properties.DefinitionString ?? JSON.stringify(properties.Definition ?? null);
        if (typeof definition !== 'string') definition = JSON.stringify(definition);
        const substitutions = isRecord(properties.DefinitionSubstitutions)
          ? properties.DefinitionSubstitutions
          : {};
        definition = (definition as string).replace(/\$\{([^}]+)\}/g, (whole, key: string) =>
          key in substitutions ? String(substitutions[key]) : whole,
        );
        const created = local.stepfunctions.createStateMachine(region, {
          name,
          definition: definition as string,
          roleArn: properties.RoleArn === undefined ? undefined : String(properties.RoleArn),
          type: properties.StateMachineType === undefined ? undefined : String(properties.StateMachineType),
        });
        return modelled(created.stateMachineArn);
      }
      case 'AWS::Events::Rule': {
        const name = await this.ref(logicalId);
        if (properties.EventPattern === undefined)
          return { type: resource.Type, physicalId: name, modelled: false };
        const pattern =
          typeof properties.EventPattern === 'string'
            ? properties.EventPattern
            : JSON.stringify(properties.EventPattern);
        local.events.putRule(region, {
          Name: name,
          EventPattern: pattern,
          State: properties.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
          EventBusName:
            properties.EventBusName === undefined ? undefined : lastSegment(String(properties.EventBusName)),
          Description: properties.Description === undefined ? undefined : String(properties.Description),
        });
        const targets = Array.isArray(properties.Targets) ? properties.Targets.filter(isRecord) : [];
        for (const target of targets) {
          const fn = local.lambdas.find(String(target.Arn));
          if (!fn) continue;
          const input = target.Input === undefined ? undefined : JSON.parse(String(target.Input));
          const ruleArn = this.arn('events', `rule/${name}`);
          // EventBridge invokes a Lambda target asynchronously (Lambda, not the rule, retries its
          // errors), under the function's resource-based policy (AWS::Lambda::Permission).
          local.events.addTarget(name, async (event) => {
            await local.lambdas.invokeAsync(fn, input ?? event, {
              invoker: { kind: 'service', servicePrincipal: 'events.amazonaws.com', sourceArn: ruleArn },
            });
          });
        }
        return modelled(name);
      }
      case 'AWS::IAM::Role': {
        const name = await this.ref(logicalId);
        local.iam.putRole({
          name,
          path: properties.Path === undefined ? undefined : String(properties.Path),
          // A trust policy without statements trusts nobody: only the local administrator assumes the role.
          trustPolicy:
            isRecord(properties.AssumeRolePolicyDocument) &&
            properties.AssumeRolePolicyDocument.Statement !== undefined
              ? policyDocument(properties.AssumeRolePolicyDocument, `${logicalId}.AssumeRolePolicyDocument`)
              : undefined,
          maxSessionDurationSeconds:
            properties.MaxSessionDuration === undefined ? undefined : Number(properties.MaxSessionDuration),
        });
        for (const policy of listOf(properties.Policies).filter(isRecord)) {
          local.iam.putRolePolicy(
            name,
            String(policy.PolicyName),
            policyDocument(policy.PolicyDocument, `${logicalId}.Policies`),
          );
        }
        for (const arn of listOf(properties.ManagedPolicyArns)) local.iam.attachRolePolicy(name, String(arn));
        return modelled(name);
      }
      case 'AWS::IAM::ManagedPolicy': {
        const arn = await this.ref(logicalId);
        local.iam.putManagedPolicy(
          arn,
          policyDocument(properties.PolicyDocument, `${logicalId}.PolicyDocument`),
        );
        for (const role of listOf(properties.Roles))
          local.iam.attachRolePolicy(lastSegment(String(role)), arn);
        return modelled(arn);
      }
      case 'AWS::IAM::Policy': {
        const document = policyDocument(properties.PolicyDocument, `${logicalId}.PolicyDocument`);
        for (const role of listOf(properties.Roles)) {
          local.iam.putRolePolicy(lastSegment(String(role)), String(properties.PolicyName), document);
        }
        return modelled(this.generatedName(logicalId));
      }
      case 'AWS::Lambda::Permission': {
        const fn = local.lambdas.find(String(properties.FunctionName));
        if (!fn) return { type: resource.Type, physicalId: this.generatedName(logicalId), modelled: false };
        const principal = String(properties.Principal);
        const conditions: Record<string, Record<string, string>> = {};
        if (properties.SourceArn !== undefined) {
          conditions.ArnLike = { 'AWS:SourceArn': String(properties.SourceArn) };
        }
        if (properties.SourceAccount !== undefined) {
          conditions.StringEquals = { 'AWS:SourceAccount': String(properties.SourceAccount) };
        }
        local.iam.addFunctionPermission(fn.arn, {
          Sid: logicalId,
          Effect: 'Allow',
          Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
          Action: String(properties.Action),
          Resource: fn.arn,
          ...(Object.keys(conditions).length > 0 ? { Condition: conditions } : {}),
        });
        return modelled(this.generatedName(logicalId));
      }
      default:
        return { type: resource.Type, physicalId: await this.ref(logicalId), modelled: false };
    }
  }

  // ---- intrinsic functions ---------------------------------------------------------------

  private pseudo(name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return ACCOUNT_ID;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${this.stackName}/00000000-0000-0000-0000-000000000000`);
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
      default:
        return undefined;
    }
  }

  private async refOf(name: string, where: string): Promise<unknown> {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.parameters[name];
    if (parameter) {
      if (parameter.Default === undefined) {
        throw new Error(
          `${where}: parameter ${name} has no Default; the local AWS deploys templates without parameter values.`,
        );
      }
      return parameter.Default;
    }
    return this.ref(name);
  }

  private condition(name: string): boolean {
    let value = this.conditionValues.get(name);
    if (value === undefined) {
      value = this.evaluateCondition(this.conditions[name], `Conditions.${name}`);
      this.conditionValues.set(name, value);
    }
    return value;
  }

  private evaluateCondition(expression: unknown, where: string): boolean {
    if (typeof expression === 'boolean') return expression;
    if (!isRecord(expression))
      throw new Error(`${where}: condition ${JSON.stringify(expression)} is not a condition function.`);
    const [[fn, args]] = Object.entries(expression);
    const list = Array.isArray(args) ? args : [args];
    const plain = (value: unknown): unknown => {
      if (isRecord(value) && 'Ref' in value)
        return this.pseudo(String(value.Ref)) ?? this.parameters[String(value.Ref)]?.Default;
      if (isRecord(value) && 'Condition' in value) return this.condition(String(value.Condition));
      return value;
    };
    switch (fn) {
      case 'Fn::Equals':
        return JSON.stringify(plain(list[0])) === JSON.stringify(plain(list[1]));
      case 'Fn::Not':
        return !this.evaluateCondition(list[0], where);
      case 'Fn::And':
        return list.every((item) => this.evaluateCondition(item, where));
      case 'Fn::Or':
        return list.some((item) => this.evaluateCondition(item, where));
      case 'Condition':
        return this.condition(String(args));
      default:
        throw new Error(`${where}: ${fn} is not a condition function the local AWS evaluates.`);
    }
  }

  /** Resolves every intrinsic function in `value`; `where` names the place for error messages. */
  private async resolve(value: unknown, where: string): Promise<unknown> {
    if (Array.isArray(value)) {
      const items = await Promise.all(value.map((item, i) => this.resolve(item, `${where}[${i}]`)));
      return items.filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]], where);
    }
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const resolved = await this.resolve(field, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private async intrinsic(fn: string, args: unknown, where: string): Promise<unknown> {
    const list = async () => {
      const resolved = await this.resolve(args, where);
      if (!Array.isArray(resolved))
        throw new Error(`${where}: ${fn} takes a list, not ${JSON.stringify(args)}.`);
      return resolved;
    };
    switch (fn) {
      case 'Ref':
        return this.refOf(String(args), where);
      case 'Fn::GetAtt': {
        const [logicalId, ...attribute] = Array.isArray(args) ? args.map(String) : String(args).split('.');
        return this.getAtt(logicalId, attribute.join('.'));
      }
      case 'Fn::Join': {
        const [separator, items] = await list();
        if (!Array.isArray(items)) throw new Error(`${where}: Fn::Join needs a list of values.`);
        return items
          .map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
          .join(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = await list();
        if (!Array.isArray(items) || items[Number(index)] === undefined) {
          throw new Error(`${where}: Fn::Select index ${String(index)} is outside the list.`);
        }
        return items[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, text] = await list();
        return String(text).split(String(separator));
      }
      case 'Fn::Sub':
        return this.sub(args, where);
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = Array.isArray(args) ? args : [];
        return this.resolve(this.condition(String(condition)) ? whenTrue : whenFalse, where);
      }
      case 'Fn::GetAZs': {
        const region = String((await this.resolve(args, where)) || this.region);
        return [`${region}a`, `${region}b`, `${region}c`];
      }
      case 'Fn::Base64':
        return Buffer.from(String(await this.resolve(args, where))).toString('base64');
      case 'Fn::ToJsonString':
        return JSON.stringify(await this.resolve(args, where));
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        return this.evaluateCondition({ [fn]: args }, where);
      default:
        throw new Error(`${where}: ${fn} is not an intrinsic function the local AWS resolves.`);
    }
  }

  private async sub(args: unknown, where: string): Promise<string> {
    const [text, variables] = Array.isArray(args) ? args : [args, {}];
    const resolvedVariables = (await this.resolve(variables ?? {}, where)) as Record<string, unknown>;
    let result = '';
    let last = 0;
    const pattern = /\$\{([^}]*)\}/g;
    for (const match of String(text).matchAll(pattern)) {
      result += String(text).slice(last, match.index);
      last = (match.index ?? 0) + match[0].length;
      const name = match[1];
      if (name.startsWith('!')) {
        result += `\${${name.slice(1)}}`;
      } else if (name in resolvedVariables) {
        result += String(resolvedVariables[name]);
      } else if (name.includes('.') && !name.startsWith('AWS::')) {
        const [logicalId, ...attribute] = name.split('.');
        result += String(await this.getAtt(logicalId, attribute.join('.')));
      } else {
        result += String(await this.refOf(name, where));
      }
    }
    return result + String(text).slice(last);
  }
}

/**
 * PutMetricAlarm's input from an `AWS::CloudWatch::Alarm` (a metric alarm on one metric; the
 * `Metrics` of a math expression are kept out, the local AWS having no metrics to compute).
 */
function alarmInput(properties: Record<string, unknown>): PutMetricAlarmInput {
  const text = (key: string) => (properties[key] === undefined ? undefined : String(properties[key]));
  const number = (key: string) => (properties[key] === undefined ? undefined : Number(properties[key]));
  const strings = (key: string) => (Array.isArray(properties[key]) ? properties[key].map(String) : undefined);
  return {
    AlarmDescription: text('AlarmDescription'),
    ActionsEnabled:
      properties.ActionsEnabled === undefined
        ? undefined
        : properties.ActionsEnabled === true || properties.ActionsEnabled === 'true',
    AlarmActions: strings('AlarmActions'),
    OKActions: strings('OKActions'),
    InsufficientDataActions: strings('InsufficientDataActions'),
    MetricName: text('MetricName'),
    Namespace: text('Namespace'),
    Statistic: text('Statistic'),
    ExtendedStatistic: text('ExtendedStatistic'),
    Dimensions: Array.isArray(properties.Dimensions)
      ? properties.Dimensions.filter(isRecord).map((d) => ({ Name: String(d.Name), Value: String(d.Value) }))
      : undefined,
    Period: number('Period'),
    Unit: text('Unit'),
    EvaluationPeriods: number('EvaluationPeriods'),
    DatapointsToAlarm: number('DatapointsToAlarm'),
    Threshold: number('Threshold'),
    ComparisonOperator: text('ComparisonOperator'),
    TreatMissingData: text('TreatMissingData'),
  };
}

const ROLLBACK_EVENTS: ReadonlySet<string> = new Set([
  'DEPLOYMENT_FAILURE',
  'DEPLOYMENT_STOP_ON_ALARM',
  'DEPLOYMENT_STOP_ON_REQUEST',
]);

function autoRollbackOf(properties: Record<string, unknown>): AutoRollbackConfiguration {
  const events = Array.isArray(properties.Events) ? properties.Events.map(String) : [];
  return {
    enabled: properties.Enabled === true || properties.Enabled === 'true',
    events: events.filter((event): event is AutoRollbackEvent => ROLLBACK_EVENTS.has(event)),
  };
}
