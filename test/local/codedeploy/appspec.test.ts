import { describe, expect, it } from 'vitest';
import { appSpecOf } from '../../../lambdas/shared/deployments.js';
import { AwsError } from '../../../local/aws-error.js';
import { appSpecSha256, ecsAppSpecContent, parseEcsAppSpec } from '../../../local/codedeploy/appspec.js';

const TASK_DEFINITION = 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:7';

const spec = { taskDefinition: TASK_DEFINITION, containerName: 'web', containerPort: 3000 };

const yaml = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 3000
`;

describe('parseEcsAppSpec', () => {
  it.each([
    [
      'JSON as the handlers write it',
      appSpecOf(TASK_DEFINITION, { container: 'web', containerPort: 3000 }).content,
    ],
    ['YAML', yaml],
    ['JSON as the local AWS writes a rollback revision', ecsAppSpecContent(spec)],
  ])('reads %s', (_name, content) => {
    expect(parseEcsAppSpec(content)).toEqual(spec);
  });

  it('accepts the sha256 of the exact content, in either case', () => {
    expect(parseEcsAppSpec(yaml, appSpecSha256(yaml).toUpperCase())).toEqual(spec);
  });

  it.each([
    ['a sha256 of other content', yaml, appSpecSha256(`${yaml} `), /sha256 .* does not match/],
    ['no resource', '{"version":0.0,"Resources":[]}', undefined, /exactly one resource/],
    [
      'another resource type',
      '{"Resources":[{"T":{"Type":"AWS::Lambda::Function"}}]}',
      undefined,
      /AWS::ECS::Service/,
    ],
    [
      'no task definition',
      '{"Resources":[{"T":{"Type":"AWS::ECS::Service","Properties":{}}}]}',
      undefined,
      /Properties\.TaskDefinition/,
    ],
    [
      'no container name',
      '{"Resources":[{"T":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/a:1","LoadBalancerInfo":{"ContainerPort":80}}}}]}',
      undefined,
      /ContainerName/,
    ],
    [
      'a port that is not one',
      '{"Resources":[{"T":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/a:1","LoadBalancerInfo":{"ContainerName":"w","ContainerPort":70000}}}}]}',
      undefined,
      /ContainerPort 70000/,
    ],
    [
      // CodeDeploy takes the task definition's full ARN only
      // (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html).
      'a task definition given as family:revision',
      '{"Resources":[{"T":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"app:7","LoadBalancerInfo":{"ContainerName":"w","ContainerPort":80}}}}]}',
      undefined,
      /TaskDefinition app:7 is not a task definition ARN/,
    ],
    ['text that is no document', 'Resources: [unclosed', undefined, /neither JSON nor YAML/],
  ])('refuses %s with InvalidRevisionException', (_name, content, sha256, message) => {
    const error = (() => {
      try {
        parseEcsAppSpec(content, sha256);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).type).toBe('InvalidRevisionException');
    expect((error as AwsError).message).toMatch(message);
  });
});
