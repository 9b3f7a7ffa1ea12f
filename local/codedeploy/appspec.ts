import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { AwsError } from '../aws-error.js';

/** What an ECS AppSpec tells CodeDeploy: the task definition to roll out and where traffic goes. */
export interface EcsAppSpec {
  /** Task definition ARN of the replacement task set. */
  taskDefinition: string;
  /** Container that receives the load balancer's traffic. */
  containerName: string;
  /** Port of that container. */
  containerPort: number;
}

/** The hex SHA-256 of AppSpec content, as CodeDeploy compares it with `appSpecContent.sha256`. */
export function appSpecSha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

const invalid = (message: string) =>
  new AwsError(
    'InvalidRevisionException',
    `${message} An ECS AppSpec is { version: 0.0, Resources: [{ <name>: { Type: AWS::ECS::Service, Properties: { TaskDefinition, LoadBalancerInfo: { ContainerName, ContainerPort } } } }] }.`,
  );

/**
 * What CodeDeploy accepts as an ECS AppSpec's TaskDefinition: the task definition's full ARN
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html).
 */
const TASK_DEFINITION_ARN =
  /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses AppSpec content (JSON or YAML, as CodeDeploy accepts both) and checks its `sha256`
 * when the caller gave one. Every problem is an `InvalidRevisionException` saying what is wrong.
 */
export function parseEcsAppSpec(content: string, sha256?: string): EcsAppSpec {
  if (sha256 !== undefined && sha256 !== '' && sha256.toLowerCase() !== appSpecSha256(content)) {
    throw new AwsError(
      'InvalidRevisionException',
      `The sha256 ${sha256} of the AppSpec content does not match its content (${appSpecSha256(content)}); compute it over the exact string sent.`,
    );
  }
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser takes both forms.
    document = parseYaml(content);
  } catch (error) {
    throw invalid(`The AppSpec content is neither JSON nor YAML (${(error as Error).message}).`);
  }
  if (!isRecord(document)) throw invalid('The AppSpec content is not an object.');
  const resources = document.Resources;
  if (!Array.isArray(resources) || resources.length !== 1) {
    throw invalid('The AppSpec must list exactly one resource under Resources.');
  }
  const entry = resources[0];
  const target = isRecord(entry) ? Object.values(entry)[0] : undefined;
  if (!isRecord(target) || target.Type !== 'AWS::ECS::Service') {
    throw invalid('The AppSpec resource must have Type AWS::ECS::Service.');
  }
  const properties = isRecord(target.Properties) ? target.Properties : {};
  const taskDefinition = properties.TaskDefinition;
  if (typeof taskDefinition !== 'string' || taskDefinition === '') {
    throw invalid('The AppSpec resource has no Properties.TaskDefinition.');
  }
  if (!TASK_DEFINITION_ARN.test(taskDefinition)) {
    throw invalid(
      `The AppSpec's TaskDefinition ${taskDefinition} is not a task definition ARN; give the full ARN (arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>).`,
    );
  }
  const loadBalancer = isRecord(properties.LoadBalancerInfo) ? properties.LoadBalancerInfo : {};
  const containerName = loadBalancer.ContainerName;
  const containerPort = Number(loadBalancer.ContainerPort);
  if (typeof containerName !== 'string' || containerName === '') {
    throw invalid('The AppSpec resource has no Properties.LoadBalancerInfo.ContainerName.');
  }
  if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) {
    throw invalid(
      `The AppSpec's LoadBalancerInfo.ContainerPort ${String(loadBalancer.ContainerPort)} is not a port number.`,
    );
  }
  return { taskDefinition, containerName, containerPort };
}

/** AppSpec content (JSON) for a revision, as CodeDeploy records a rollback's revision. */
export function ecsAppSpecContent(spec: EcsAppSpec): string {
  return JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: 'AWS::ECS::Service',
          Properties: {
            TaskDefinition: spec.taskDefinition,
            LoadBalancerInfo: { ContainerName: spec.containerName, ContainerPort: spec.containerPort },
          },
        },
      },
    ],
  });
}
