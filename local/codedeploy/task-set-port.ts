import { AwsError } from '../aws-error.js';
import type { EcsModel } from '../ecs/ecs-model.js';
import type { TaskSetPort } from './records.js';

/** The task set operations of the local ECS, as CodeDeploy drives them (by cluster, service and id). */
export function ecsTaskSetPort(ecs: EcsModel): TaskSetPort {
  const taskSet = (region: string, cluster: string, service: string, id: string) => {
    const record = ecs.service(region, cluster, service);
    const set = ecs.taskSet(record, id);
    if (!set) {
      throw new AwsError(
        'TaskSetNotFoundException',
        `Task set ${id} of service ${service} (cluster ${cluster}, ${region}) does not exist.`,
      );
    }
    return { record, set };
  };
  return {
    primaryTaskSet(region, cluster, service) {
      const primary = ecs
        .service(region, cluster, service)
        .taskSets.find((s) => s.taskSet.status === 'PRIMARY');
      return (
        primary && {
          id: primary.taskSet.id as string,
          taskDefinition: primary.taskSet.taskDefinition as string,
        }
      );
    },
    async createTaskSet(region, cluster, service, taskDefinition, externalId) {
      const record = ecs.service(region, cluster, service);
      const set = await ecs.createTaskSet(record, taskDefinition, { externalId });
      return set.taskSet.id as string;
    },
    async setPrimaryTaskSet(region, cluster, service, id) {
      const { record, set } = taskSet(region, cluster, service, id);
      ecs.setPrimaryTaskSet(record, set);
    },
    async deleteTaskSet(region, cluster, service, id) {
      const record = ecs.service(region, cluster, service);
      const set = ecs.taskSet(record, id);
      // Deleting a task set that is already gone is what a retry of the same step does.
      if (set) await ecs.deleteTaskSet(record, set, `CodeDeploy removed task set ${id}`);
    },
    describeService(region, cluster, service) {
      const record = ecs.service(region, cluster, service);
      const described = ecs.services.describe(record, false);
      return {
        serviceArn: described.serviceArn as string,
        taskSets: (described.taskSets ?? []).map((set) => ({
          id: set.id as string,
          status: set.status ?? 'ACTIVE',
          desiredCount: set.computedDesiredCount ?? 0,
          pendingCount: set.pendingCount ?? 0,
          runningCount: set.runningCount ?? 0,
        })),
      };
    },
    async isTaskSetHealthy(region, cluster, service, id) {
      const found = ecs.taskSet(ecs.service(region, cluster, service), id);
      return found ? ecs.isTaskSetHealthy(found) : false;
    },
  };
}
