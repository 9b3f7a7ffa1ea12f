import type { Compatibility, RegisterTaskDefinitionRequest, TaskDefinition } from '@aws-sdk/client-ecs';
import { AwsError, required } from '../aws-error.js';
import { ACCOUNT_ID } from '../server.js';
import { type ResourceTags, validateTags } from './resource-tags.js';

/** The Region of an ECS ARN. */
const regionOf = (arn: string | undefined) => arn?.split(':')[3];

/**
 * Task definitions of the local ECS: families of numbered revisions per Region, registered,
 * described, listed and deregistered as ECS does.
 */
export class TaskDefinitions {
  private readonly definitions = new Map<string, TaskDefinition>();

  constructor(private readonly tags: ResourceTags) {}

  /**
   * Registers a new revision of the request's family. The network mode defaults to
   * `bridge`; a definition that requires Fargate must use `awsvpc`, the only mode Fargate
   * runs, and only an `awsvpc` definition is Fargate-compatible.
   */
  register(region: string, request: RegisterTaskDefinitionRequest): TaskDefinition {
    validateTags(request.tags);
    const family = required(request.family, 'family', 'ClientException');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsError(
        'ClientException',
        `Family ${family} is invalid: use up to 255 letters, digits, hyphens and underscores.`,
      );
    }
    const containerDefinitions = required(
      request.containerDefinitions,
      'containerDefinitions',
      'ClientException',
    );
    if (containerDefinitions.length === 0) {
      throw new AwsError(
        'ClientException',
        `Task definition ${family} needs at least one container definition.`,
      );
    }
    for (const container of containerDefinitions) {
      required(container.name, 'containerDefinitions[].name', 'ClientException');
      required(container.image, `containerDefinitions[${container.name}].image`, 'ClientException');
    }
    const networkMode = request.networkMode ?? 'bridge';
    if (request.requiresCompatibilities?.includes('FARGATE') && networkMode !== 'awsvpc') {
      throw new AwsError('ClientException', 'Fargate only supports network mode ‘awsvpc’.');
    }
    const revision =
      Math.max(
        0,
        ...[...this.definitions.values()]
          .filter((def) => def.family === family && regionOf(def.taskDefinitionArn) === region)
          .map((def) => def.revision ?? 0),
      ) + 1;
    const arn = `arn:aws:ecs:${region}:${ACCOUNT_ID}:task-definition/${family}:${revision}`;
    const compatibilities: Compatibility[] = networkMode === 'awsvpc' ? ['EC2', 'FARGATE'] : ['EC2'];
    const definition: TaskDefinition = {
      taskDefinitionArn: arn,
      family,
      revision,
      containerDefinitions: containerDefinitions.map((container) => ({
        essential: true,
        environment: [],
        portMappings: [],
        ...container,
      })),
      taskRoleArn: request.taskRoleArn,
      executionRoleArn: request.executionRoleArn,
      networkMode,
      requiresCompatibilities: request.requiresCompatibilities,
      compatibilities,
      cpu: request.cpu,
      memory: request.memory,
      volumes: request.volumes ?? [],
      placementConstraints: request.placementConstraints ?? [],
      status: 'ACTIVE',
      registeredAt: new Date(),
      registeredBy: `arn:aws:iam::${ACCOUNT_ID}:root`,
    };
    this.definitions.set(arn, definition);
    this.tags.init(arn, request.tags);
    return definition;
  }

  /**
   * The task definition named by `family` (latest ACTIVE revision), `family:revision`
   * or its ARN; `ClientException` when there is none.
   */
  get(region: string, reference: string): TaskDefinition {
    const match =
      /^(?:arn:aws[a-z-]*:ecs:([^:]+):\d{12}:task-definition\/)?([A-Za-z0-9_-]+)(?::(\d+))?$/.exec(reference);
    if (match) {
      const defRegion = match[1] ?? region;
      const [family, revision] = [match[2], match[3]];
      const candidates = [...this.definitions.values()].filter(
        (def) =>
          def.family === family &&
          regionOf(def.taskDefinitionArn) === defRegion &&
          (revision ? def.revision === Number(revision) : def.status === 'ACTIVE'),
      );
      const found = candidates.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
      if (found) return found;
    }
    throw new AwsError(
      'ClientException',
      `Unable to describe task definition ${reference} in ${region}: it does not exist. Register it first, or check the family, revision and Region.`,
    );
  }

  /** The task definition of an ARN, if registered. */
  byArn(arn: string): TaskDefinition | undefined {
    return this.definitions.get(arn);
  }

  /** Task definition ARNs of a Region, optionally of one family and status, sorted by family and revision. */
  list(region: string, options: { family?: string; status?: string; sort?: string }): string[] {
    const status = options.status ?? 'ACTIVE';
    const defs = [...this.definitions.values()]
      .filter(
        (def) =>
          regionOf(def.taskDefinitionArn) === region &&
          (options.family === undefined || def.family === options.family) &&
          def.status === status,
      )
      .sort((a, b) =>
        (a.family ?? '') < (b.family ?? '')
          ? -1
          : (a.family ?? '') > (b.family ?? '')
            ? 1
            : (a.revision ?? 0) - (b.revision ?? 0),
      );
    if (options.sort === 'DESC') defs.reverse();
    return defs.map((def) => def.taskDefinitionArn as string);
  }

  /**
   * Task definition families of a Region whose names start with `prefix`; with status
   * ACTIVE only those with an ACTIVE revision, with INACTIVE only those without one.
   */
  families(region: string, options: { prefix?: string; status?: string }): string[] {
    const active = new Map<string, boolean>();
    for (const def of this.definitions.values()) {
      if (regionOf(def.taskDefinitionArn) !== region || !def.family?.startsWith(options.prefix ?? ''))
        continue;
      active.set(def.family, (active.get(def.family) ?? false) || def.status === 'ACTIVE');
    }
    return [...active.entries()]
      .filter(([, hasActive]) =>
        options.status === 'ACTIVE' ? hasActive : options.status === 'INACTIVE' ? !hasActive : true,
      )
      .map(([family]) => family)
      .sort();
  }

  /** Marks a revision INACTIVE; running tasks keep running. */
  deregister(region: string, reference: string): TaskDefinition {
    if (!/:\d+$/.test(reference)) {
      throw new AwsError(
        'ClientException',
        `DeregisterTaskDefinition needs a revision (family:revision or ARN), not ${reference}.`,
      );
    }
    const definition = this.get(region, reference);
    definition.status = 'INACTIVE';
    definition.deregisteredAt = new Date();
    return definition;
  }
}
