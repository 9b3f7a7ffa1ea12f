import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  type BatchGetDeploymentsCommandInput,
  CodeDeployClient,
  type DeploymentInfo,
  ListDeploymentsCommand,
  type ListDeploymentsCommandInput,
} from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { createClients } from '../../../lambdas/shared/clients.js';
import type { DeployConfig, EnvironmentConfig } from '../../../lambdas/shared/config.js';
import type { DeploymentDeps } from '../../../lambdas/shared/deployments.js';
import type { Plan } from '../../../lambdas/shared/types.js';
import { fakeClock as clockAt, environment as sampleEnvironment } from './fixtures.js';

/** Test data shared by the deployment handlers' tests: two environments, each with a web and a worker. */

/** The sample environment with its deployment groups named `<service>-dg`, as `deployment()` names them. */
function environment(name: string): EnvironmentConfig {
  const sample = sampleEnvironment(name);
  return {
    ...sample,
    services: sample.services.map((service) => ({
      ...service,
      deploymentGroup: `${service.deploymentGroup}-dg`,
    })),
  };
}

/** A configuration with environments `us` (us-east-1) and `eu` (eu-west-1). */
export const config: DeployConfig = {
  environments: [environment('us'), environment('eu')],
  preDeploySteps: [],
  postDeploySteps: [],
  pollSeconds: 5,
  watchSeconds: 60,
  deploymentTimeoutSeconds: 7200,
  eventBusName: 'default',
};

/** Plan start; deployments of the run are created after it. */
export const STARTED_AT = '2026-11-26T06:00:00.000Z';

/** A plan of release `r1` to both environments. */
export const plan: Plan = {
  release: 'r1',
  runId: 'sd-0123456789abcdef0123456789abcdef0',
  startedAt: STARTED_AT,
  account: '123456789012',
  environments: ['us', 'eu'],
  skipMigrations: false,
  oneOff: { us: 'us-oneoff:8', eu: 'eu-oneoff:8' },
  services: {
    us: {
      web: [4, 5],
      worker: [4, 5],
    },
    eu: {
      web: [4, 5],
      worker: [4, 5],
    },
  },
};

/** A clock whose sleeps return at once and are recorded, one minute into the run. */
export function fakeClock(): ReturnType<typeof clockAt> {
  return clockAt(Date.parse(STARTED_AT) + 60_000);
}

/**
 * Real SDK clients (their `send` is what the tests mock) of every service a deployment core
 * calls, with the fake clock and the config.
 */
export function makeDeps(): DeploymentDeps<'codedeploy' | 'ecs' | 'sfn' | 'cloudwatch'> & {
  clock: ReturnType<typeof fakeClock>;
} {
  return {
    clients: createClients({
      codedeploy: CodeDeployClient,
      ecs: ECSClient,
      sfn: SFNClient,
      cloudwatch: CloudWatchClient,
    }),
    clock: fakeClock(),
    config,
  };
}

/** A deployment as BatchGetDeployments returns it, created one minute into the run. */
export function deployment(
  id: string,
  environment: string,
  service: string,
  fields: Partial<DeploymentInfo> = {},
): DeploymentInfo {
  return {
    deploymentId: id,
    applicationName: `${environment}-app`,
    deploymentGroupName: `${environment}-${service}-dg`,
    status: 'InProgress',
    creator: 'user',
    createTime: new Date(Date.parse(STARTED_AT) + 60_000),
    ...fields,
  };
}

/**
 * Answers ListDeployments (group, status and create-time filters) and BatchGetDeployments
 * from `deployments`, which the test may change between calls.
 */
export function serveDeployments(
  codedeploy: AwsClientStub<CodeDeployClient>,
  deployments: DeploymentInfo[],
): void {
  codedeploy.on(ListDeploymentsCommand).callsFake((input: ListDeploymentsCommandInput) => ({
    deployments: deployments
      .filter(
        (d) =>
          d.applicationName === input.applicationName &&
          d.deploymentGroupName === input.deploymentGroupName &&
          (!input.includeOnlyStatuses ||
            (d.status !== undefined && input.includeOnlyStatuses.includes(d.status))) &&
          (!input.createTimeRange?.start || (d.createTime ?? new Date(0)) >= input.createTimeRange.start),
      )
      .map((d) => d.deploymentId),
  }));
  codedeploy.on(BatchGetDeploymentsCommand).callsFake((input: BatchGetDeploymentsCommandInput) => ({
    deploymentsInfo: deployments.filter((d) => input.deploymentIds?.includes(d.deploymentId ?? '')),
  }));
}
