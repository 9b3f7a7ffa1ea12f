import type { Tag } from '@aws-sdk/client-ecs';

/** The tags of ECS resources (clusters, task definitions, tasks, services), by ARN. */
export class ResourceTags {
  private readonly tags = new Map<string, Tag[]>();

  /** Tags of a resource; none for one never tagged. */
  of(arn: string): Tag[] {
    return [...(this.tags.get(arn) ?? [])];
  }

  /** The value of one tag of a resource. */
  value(arn: string, key: string): string | undefined {
    return this.tags.get(arn)?.find((tag) => tag.key === key)?.value;
  }

  /** Tags a resource on creation with `tags`, when there are any. */
  init(arn: string, tags: Tag[] | undefined): void {
    if (tags && tags.length > 0) this.tags.set(arn, [...tags]);
  }

  /** Adds or replaces tags of a resource by key. */
  merge(arn: string, tags: Tag[]): void {
    const merged = new Map(this.of(arn).map((tag) => [tag.key, tag]));
    for (const tag of tags) merged.set(tag.key, tag);
    this.tags.set(arn, [...merged.values()]);
  }

  /** Removes tags of a resource by key. */
  remove(arn: string, keys: string[]): void {
    this.tags.set(
      arn,
      this.of(arn).filter((tag) => !keys.includes(tag.key ?? '')),
    );
  }
}
