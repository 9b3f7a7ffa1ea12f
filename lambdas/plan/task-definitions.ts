import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  paginateListTaskDefinitions,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { Clients } from '../shared/clients.js';
import { familyOf } from '../shared/ecs-tasks.js';
import { ValidationError } from '../shared/errors.js';
import { TAGS } from '../shared/markers.js';

/** A task definition with its tags, as DescribeTaskDefinition (include TAGS) returns it. */
export interface Described {
  taskDefinition: TaskDefinition & { taskDefinitionArn: string; family: string };
  tags: Tag[];
}

/** The value cached under `key`, made by `make` the first time it is asked for. */
export function once<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

/** DescribeTaskDefinition with tags, once per (Region, task definition) for the whole Plan. */
export class TaskDefinitions {
  readonly #cache = new Map<string, Promise<Described>>();
  constructor(private readonly clients: Pick<Clients, 'ecs'>) {}

  describe(region: string, taskDefinition: string): Promise<Described> {
    return once(this.#cache, `${region}|${taskDefinition}`, () => this.#describe(region, taskDefinition));
  }

  async #describe(region: string, taskDefinition: string): Promise<Described> {
    const output = await this.clients
      .ecs(region)
      .send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    const definition = output.taskDefinition;
    if (!definition?.taskDefinitionArn || !definition.family) {
      throw new ValidationError(
        `Task definition "${taskDefinition}" in ${region} was not found: check the configuration.`,
      );
    }
    const described: Described = {
      taskDefinition: {
        ...definition,
        taskDefinitionArn: definition.taskDefinitionArn,
        family: definition.family,
      },
      tags: output.tags ?? [],
    };
    // The same definition is often asked for by ARN and by its `family:revision`.
    this.#cache.set(`${region}|${definition.taskDefinitionArn}`, Promise.resolve(described));
    return described;
  }
}

/** Whether a described task definition carries the release tag of `release`. */
export function isTaggedWith(described: Pick<Described, 'tags'>, release: string): boolean {
  return described.tags.some((tag) => tag.key === TAGS.release && tag.value === release);
}

/**
 * The ARN of the newest ACTIVE revision of `family` tagged with `release` (and accepted by
 * `accept`), among the family's `limit` newest; undefined when there is none.
 */
export async function findTaggedRevision(
  ecs: ECSClient,
  describer: TaskDefinitions,
  region: string,
  family: string,
  release: string,
  limit: number,
  accept: (described: Described) => boolean = () => true,
): Promise<string | undefined> {
  let searched = 0;
  const pages = paginateListTaskDefinitions(
    { client: ecs },
    { familyPrefix: family, status: 'ACTIVE', sort: 'DESC', maxResults: limit },
  );
  for await (const page of pages) {
    // The prefix also matches longer family names.
    const arns = (page.taskDefinitionArns ?? []).filter((arn) => familyOf(arn) === family);
    for (const arn of arns.slice(0, limit - searched)) {
      const described = await describer.describe(region, arn);
      if (isTaggedWith(described, release) && accept(described)) return arn;
    }
    searched += arns.length;
    if (searched >= limit) break;
  }
  return undefined;
}
