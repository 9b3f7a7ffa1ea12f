import { requestObject } from '../aws-error.js';
import type { Handler } from '../server.js';
import type { AutoRollbackConfiguration, CodeDeployModel, DeploymentGroupInput } from './model.js';

/** The `X-Amz-Target` prefix of CodeDeploy (awsJson 1.1). */
export const CODEDEPLOY_TARGET = 'CodeDeploy_20141006';

interface DeploymentGroupRequest {
  applicationName?: string;
  deploymentGroupName?: string;
  serviceRoleArn?: string;
  deploymentConfigName?: string;
  ecsServices?: Array<{ serviceName: string; clusterName: string }>;
  blueGreenDeploymentConfiguration?: {
    deploymentReadyOption?: DeploymentGroupInput['deploymentReadyOption'];
    terminateBlueInstancesOnDeploymentSuccess?: { action?: string; terminationWaitTimeInMinutes?: number };
  };
  autoRollbackConfiguration?: AutoRollbackConfiguration;
  loadBalancerInfo?: unknown;
}

/** The CodeDeploy operations of the local AWS, for `WireServer.mount`. */
export function codedeployHandlers(model: CodeDeployModel): Record<string, Handler> {
  type Body = Record<string, unknown>;
  const op =
    <T extends object = Body>(name: string, fn: (input: T, region: string) => unknown): Handler =>
    async (input, ctx) =>
      fn(requestObject<T>(input, name), ctx.region);
  return {
    CreateApplication: op<{ applicationName: string }>('CreateApplication', (input, region) =>
      model.createApplication(region, input.applicationName),
    ),
    GetApplication: op<{ applicationName?: string }>('GetApplication', (input, region) =>
      model.getApplication(region, input.applicationName),
    ),
    ListApplications: op('ListApplications', (_input, region) => model.listApplications(region)),
    CreateDeploymentGroup: op<DeploymentGroupRequest>('CreateDeploymentGroup', (input, region) =>
      model.createDeploymentGroup(region, {
        applicationName: input.applicationName ?? '',
        deploymentGroupName: input.deploymentGroupName ?? '',
        serviceRoleArn: input.serviceRoleArn,
        deploymentConfigName: input.deploymentConfigName,
        ecsServices: input.ecsServices ?? [],
        deploymentReadyOption: input.blueGreenDeploymentConfiguration?.deploymentReadyOption,
        terminationWaitTimeInMinutes:
          input.blueGreenDeploymentConfiguration?.terminateBlueInstancesOnDeploymentSuccess
            ?.terminationWaitTimeInMinutes,
        autoRollbackConfiguration: input.autoRollbackConfiguration,
        loadBalancerInfo: input.loadBalancerInfo,
      }),
    ),
    GetDeploymentGroup: op<{ applicationName?: string; deploymentGroupName?: string }>(
      'GetDeploymentGroup',
      (input, region) => model.getDeploymentGroup(region, input.applicationName, input.deploymentGroupName),
    ),
    ListDeploymentGroups: op<{ applicationName?: string }>('ListDeploymentGroups', (input, region) =>
      model.listDeploymentGroups(region, input.applicationName),
    ),
    CreateDeployment: op<Parameters<CodeDeployModel['createDeployment']>[1]>(
      'CreateDeployment',
      (input, region) => model.createDeployment(region, input),
    ),
    GetDeployment: op<{ deploymentId?: string }>('GetDeployment', (input, region) =>
      model.getDeployment(region, input.deploymentId),
    ),
    BatchGetDeployments: op<{ deploymentIds?: string[] }>('BatchGetDeployments', (input, region) =>
      model.batchGetDeployments(region, input.deploymentIds),
    ),
    ListDeployments: op<Parameters<CodeDeployModel['listDeployments']>[1]>(
      'ListDeployments',
      (input, region) => model.listDeployments(region, input),
    ),
    StopDeployment: op<{ deploymentId?: string; autoRollbackEnabled?: boolean }>(
      'StopDeployment',
      (input, region) => model.stopDeployment(region, input.deploymentId, input.autoRollbackEnabled),
    ),
    ListDeploymentTargets: op<Parameters<CodeDeployModel['listDeploymentTargets']>[1]>(
      'ListDeploymentTargets',
      (input, region) => model.listDeploymentTargets(region, input),
    ),
    BatchGetDeploymentTargets: op<Parameters<CodeDeployModel['batchGetDeploymentTargets']>[1]>(
      'BatchGetDeploymentTargets',
      (input, region) => model.batchGetDeploymentTargets(region, input),
    ),
    GetDeploymentTarget: op<Parameters<CodeDeployModel['getDeploymentTarget']>[1]>(
      'GetDeploymentTarget',
      (input, region) => model.getDeploymentTarget(region, input),
    ),
    ContinueDeployment: op<{ deploymentId?: string; deploymentWaitType?: string }>(
      'ContinueDeployment',
      (input, region) => model.continueDeployment(region, input.deploymentId, input.deploymentWaitType),
    ),
  };
}
