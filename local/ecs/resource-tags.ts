import type { Tag } from '@aws-sdk/client-ecs';
import { AwsError } from '../aws-error.js';

/** The tags a resource may have, not counting those prefixed `aws:`. */
export const MAX_TAGS = 50;

/** Letters, numbers, spaces (any Unicode) and `_ . : / = + - @`: a tag key's and value's pattern. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** `aws:` in any case: reserved for AWS. */
const isReserved = (text: string | undefined) => text?.toLowerCase().startsWith('aws:') ?? false;

/**
 * Checks tags a request puts on a resource that has `existing` ones, as ECS does
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html): keys of 1-128 and
 * values of 0-256 characters, of letters, numbers, spaces and `_ . : / = + - @` (ECS's message
 * for a bad character, as https://github.com/prefect-archive/prefect-aws/issues/223 shows it), each key
 * once, no key or value prefixed `aws:` (reserved), and at most 50 tags on the resource, those of
 * AWS not counted. Every refusal is `InvalidParameterException`.
 */
export function validateTags(tags: readonly Tag[] | undefined, existing: readonly Tag[] = []): void {
  if (!tags) return;
  const invalid = (message: string) => new AwsError('InvalidParameterException', message);
  const keys = new Set<string>();
  for (const tag of tags) {
    const key = tag.key ?? '';
    const value = tag.value ?? '';
    if ([...key].length < 1 || [...key].length > 128)
      throw invalid(`Tag key "${key}" is invalid: a tag key has 1-128 characters.`);
    if ([...value].length > 256)
      throw invalid(`The value of tag ${key} is invalid: a tag value has at most 256 characters.`);
    if (!TAG_TEXT.test(key) || !TAG_TEXT.test(value))
      throw invalid(
        'Some tags contain invalid characters. Valid characters: UTF-8 letters, spaces, numbers and _ . / = + - : @.',
      );
    if (isReserved(key) || isReserved(value))
      throw invalid(`Tag ${key} is invalid: keys and values prefixed "aws:" are reserved for AWS use.`);
    if (keys.has(key)) throw invalid(`Tag key ${key} is given twice: each tag key must be unique.`);
    keys.add(key);
  }
  const merged = new Set([...existing.map((tag) => tag.key ?? ''), ...keys]);
  const counted = [...merged].filter((key) => !isReserved(key)).length;
  if (counted > MAX_TAGS)
    throw invalid(`The resource would have ${counted} tags; a resource has at most ${MAX_TAGS}.`);
}

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
