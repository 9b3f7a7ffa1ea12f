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
      return { cluster: model.createCluster(region, request.clusterName ?? 'default', request.tags) };
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
      const taskDefinition = model.registerTaskDefinition(region, request);
      return { taskDefinition, tags: model.tagsOf(taskDefinition.taskDefinitionArn as string) };
    },
    DescribeTaskDefinition: async (input, { region }) => {
      const request = requestObject<DescribeTaskDefinitionRequest>(input, 'DescribeTaskDefinition');
      const taskDefinition = model.taskDefinition(
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
      const arns = model.listTaskDefinitions(region, {
        family: request.familyPrefix,
        status: request.status,
        sort: request.sort,
      });
      const { slice, nextToken } = page(arns, request.maxResults, request.nextToken);
      return { taskDefinitionArns: slice, nextToken };
    },
    ListTaskDefinitionFamilies: async (input, { region }) => {
      const request = requestObject<ListTaskDefinitionFamiliesRequest>(input, 'ListTaskDefinitionFamilies');
      const families = model.listTaskDefinitionFamilies(region, {
        prefix: request.familyPrefix,
        status: request.status,
      });
      const { slice, nextToken } = page(families, request.maxResults, request.nextToken);
      return { families: slice, nextToken };
    },
    DeregisterTaskDefinition: async (input, { region }) => {
      const request = requestObject<DeregisterTaskDefinitionRequest>(input, 'DeregisterTaskDefinition');
      return {
        taskDefinition: model.deregisterTaskDefinition(
          region,
          required(request.taskDefinition, 'taskDefinition', 'ClientException'),
        ),
      };
    },
    RunTask: async (input, { region }) =>
      model.runTask(region, requestObject<RunTaskRequest>(input, 'RunTask')),
    DescribeTasks: async (input, { region }) => {
      const request = requestObject<DescribeTasksRequest>(input, 'DescribeTasks');
      return model.describeTasks(
        region,
        request.cluster,
        required(request.tasks, 'tasks'),
        request.include?.includes('TAGS') ?? false,
      );
    },
    StopTask: async (input, { region }) => {
      const request = requestObject<StopTaskRequest>(input, 'StopTask');
      return {
        task: model.stopTask(region, request.cluster, required(request.task, 'task'), request.reason),
      };
    },
    ListTasks: async (input, { region }) => {
      const request = requestObject<ListTasksRequest>(input, 'ListTasks');
      if (request.family && request.serviceName) {
        throw new AwsError(
          'InvalidParameterException',
          'family and serviceName cannot both be specified; pass one of them.',
        );
      }
      const arns = model.listTasks(region, {
        cluster: request.cluster,
        startedBy: request.startedBy,
        serviceName: request.serviceName,
        family: request.family,
        desiredStatus: request.desiredStatus,
        launchType: request.launchType,
      });
      const { slice, nextToken } = page(arns, request.maxResults, request.nextToken);
      return { taskArns: slice, nextToken };
    },
    DescribeServices: async (input, { region }) => {
      const request = requestObject<DescribeServicesRequest>(input, 'DescribeServices');
      return model.describeServices(
        region,
        request.cluster,
        required(request.services, 'services'),
        request.include?.includes('TAGS') ?? false,
      );
    },
    ListServices: async (input, { region }) => {
      const request = requestObject<ListServicesRequest>(input, 'ListServices');
      const { slice, nextToken } = page(
        model.listServices(region, request.cluster),
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
