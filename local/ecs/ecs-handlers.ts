import type {
  CreateClusterRequest,
  DeregisterTaskDefinitionRequest,
  DescribeClustersRequest,
  DescribeServicesRequest,
  DescribeTaskDefinitionRequest,
  DescribeTasksRequest,
  ListServicesRequest,
  ListTagsForResourceRequest,
  ListTaskDefinitionFamiliesRequest,
  ListTaskDefinitionsRequest,
  ListTasksRequest,
  PutClusterCapacityProvidersRequest,
  RegisterTaskDefinitionRequest,
  RunTaskRequest,
  StopTaskRequest,
  TagResourceRequest,
  UntagResourceRequest,
} from '@aws-sdk/client-ecs';
import { AwsError, requestObject, required } from '../aws-error.js';
import { offsetPage } from '../page-token.js';
import type { Handler } from '../server.js';
import type { EcsModel } from './ecs-model.js';

/** Pages a list the way ECS does: `maxResults` (1-100) a page and an opaque `nextToken`. */
function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, max = 100) {
  const size = maxResults ?? max;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw new AwsError('InvalidParameterException', `maxResults ${size} is invalid: pass 1-${max}.`);
  }
  const { items: slice, nextToken: next } = offsetPage(items, size, nextToken, 'InvalidParameterException');
  return { slice, nextToken: next };
}

/** The `AmazonEC2ContainerServiceV20141113.*` operations, over `model`. */
export function ecsHandlers(model: EcsModel): Record<string, Handler> {
  return {
    CreateCluster: async (input, { region }) => {
      const request = requestObject<CreateClusterRequest>(input, 'CreateCluster');
      return {
        cluster: model.createCluster(region, request.clusterName ?? 'default', request.tags, {
          capacityProviders: request.capacityProviders,
          defaultCapacityProviderStrategy: request.defaultCapacityProviderStrategy,
        }),
      };
    },
    PutClusterCapacityProviders: async (input, { region }) => {
      const request = requestObject<PutClusterCapacityProvidersRequest>(input, 'PutClusterCapacityProviders');
      return {
        cluster: model.putClusterCapacityProviders(region, required(request.cluster, 'cluster'), {
          capacityProviders: required(request.capacityProviders, 'capacityProviders'),
          defaultCapacityProviderStrategy: required(
            request.defaultCapacityProviderStrategy,
            'defaultCapacityProviderStrategy',
          ),
        }),
      };
    },
    DescribeClusters: async (input, { region }) => {
      const request = requestObject<DescribeClustersRequest>(input, 'DescribeClusters');
      const clusters = [];
      const failures = [];
      for (const ref of request.clusters ?? ['default']) {
        try {
          const cluster = model.cluster(region, ref);
          clusters.push(
            request.include?.includes('TAGS')
              ? { ...cluster, tags: model.tagsOf(cluster.clusterArn as string) }
              : cluster,
          );
        } catch {
          failures.push({ arn: ref, reason: 'MISSING' });
        }
      }
      return { clusters, failures };
    },
    ListClusters: async (input, { region }) => {
      const request = requestObject<{ maxResults?: number; nextToken?: string }>(input, 'ListClusters');
      const { slice, nextToken } = page(
        model.listClusters(region).map((cluster) => cluster.clusterArn as string),
        request.maxResults,
        request.nextToken,
      );
      return { clusterArns: slice, nextToken };
    },
    RegisterTaskDefinition: async (input, { region }) => {
      const request = requestObject<RegisterTaskDefinitionRequest>(input, 'RegisterTaskDefinition');
      const taskDefinition = model.taskDefinitions.register(region, request);
      return { taskDefinition, tags: model.tagsOf(taskDefinition.taskDefinitionArn as string) };
    },
    DescribeTaskDefinition: async (input, { region }) => {
      const request = requestObject<DescribeTaskDefinitionRequest>(input, 'DescribeTaskDefinition');
      const taskDefinition = model.taskDefinitions.get(
        region,
        required(request.taskDefinition, 'taskDefinition', 'ClientException'),
      );
      return {
        taskDefinition,
        tags: request.include?.includes('TAGS')
          ? model.tagsOf(taskDefinition.taskDefinitionArn as string)
          : undefined,
      };
    },
    ListTaskDefinitions: async (input, { region }) => {
      const request = requestObject<ListTaskDefinitionsRequest>(input, 'ListTaskDefinitions');
      const arns = model.taskDefinitions.list(region, {
        family: request.familyPrefix,
        status: request.status,
        sort: request.sort,
      });
      const { slice, nextToken } = page(arns, request.maxResults, request.nextToken);
      return { taskDefinitionArns: slice, nextToken };
    },
    ListTaskDefinitionFamilies: async (input, { region }) => {
      const request = requestObject<ListTaskDefinitionFamiliesRequest>(input, 'ListTaskDefinitionFamilies');
      const families = model.taskDefinitions.families(region, {
        prefix: request.familyPrefix,
        status: request.status,
      });
      const { slice, nextToken } = page(families, request.maxResults, request.nextToken);
      return { families: slice, nextToken };
    },
    DeregisterTaskDefinition: async (input, { region }) => {
      const request = requestObject<DeregisterTaskDefinitionRequest>(input, 'DeregisterTaskDefinition');
      return {
        taskDefinition: model.taskDefinitions.deregister(
          region,
          required(request.taskDefinition, 'taskDefinition', 'ClientException'),
        ),
      };
    },
    RunTask: async (input, { region }) =>
      model.tasks.runTask(region, requestObject<RunTaskRequest>(input, 'RunTask')),
    DescribeTasks: async (input, { region }) => {
      const request = requestObject<DescribeTasksRequest>(input, 'DescribeTasks');
      return model.tasks.describeTasks(
        region,
        request.cluster,
        required(request.tasks, 'tasks'),
        request.include?.includes('TAGS') ?? false,
      );
    },
    StopTask: async (input, { region }) => {
      const request = requestObject<StopTaskRequest>(input, 'StopTask');
      return {
        task: model.tasks.stopTask(region, request.cluster, required(request.task, 'task'), request.reason),
      };
    },
    ListTasks: async (input, { region }) => {
      const request = requestObject<ListTasksRequest>(input, 'ListTasks');
      const arns = model.tasks.list(region, {
        cluster: request.cluster,
        startedBy: request.startedBy,
        serviceName: request.serviceName,
        family: request.family,
        desiredStatus: request.desiredStatus,
        launchType: request.launchType,
        containerInstance: request.containerInstance,
      });
      const { slice, nextToken } = page(arns, request.maxResults, request.nextToken);
      return { taskArns: slice, nextToken };
    },
    DescribeServices: async (input, { region }) => {
      const request = requestObject<DescribeServicesRequest>(input, 'DescribeServices');
      return model.services.describeServices(
        region,
        request.cluster,
        required(request.services, 'services'),
        request.include?.includes('TAGS') ?? false,
      );
    },
    ListServices: async (input, { region }) => {
      const request = requestObject<ListServicesRequest>(input, 'ListServices');
      const { slice, nextToken } = page(
        model.services.list(region, request.cluster),
        request.maxResults,
        request.nextToken,
      );
      return { serviceArns: slice, nextToken };
    },
    TagResource: async (input) => {
      const request = requestObject<TagResourceRequest>(input, 'TagResource');
      model.tagResource(required(request.resourceArn, 'resourceArn'), required(request.tags, 'tags'));
      return {};
    },
    UntagResource: async (input) => {
      const request = requestObject<UntagResourceRequest>(input, 'UntagResource');
      model.untagResource(required(request.resourceArn, 'resourceArn'), required(request.tagKeys, 'tagKeys'));
      return {};
    },
    ListTagsForResource: async (input) => {
      const request = requestObject<ListTagsForResourceRequest>(input, 'ListTagsForResource');
      return { tags: model.tagsOf(required(request.resourceArn, 'resourceArn')) };
    },
  };
}
