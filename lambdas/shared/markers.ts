import { createHash } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * `startedBy` for every task of one execution. ECS allows 36 characters of
 * letters, digits, `-` and `_`, so a release name (which may hold dots) does not fit.
 */
export function runIdOf(executionArn: string): string {
  return `sd-${sha256(executionArn).slice(0, 33)}`;
}

/** RunTask `clientToken`: the same for every retry of the same task of the same execution. */
export function clientTokenOf(
  executionArn: string,
  phase: string,
  environment: string,
  step: string,
): string {
  return sha256([executionArn, phase, environment, step].join('\n')).slice(0, 64);
}

/** What a release name is made of (`release` and `rollbackTo` of the execution input): it marks tags and descriptions. */
export const RELEASE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Description marker of a deployment this release made for one (environment, service). */
export function deploymentMarker(release: string, environment: string, service: string): string {
  return `stepdeploy:${release}:${environment}/${service}`;
}

/** Description marker of a deployment that rolls one (environment, service) back. */
export function rollbackMarker(release: string, environment: string, service: string): string {
  return `${deploymentMarker(release, environment, service)}:rollback`;
}

/** Reads a marker back from a deployment description; undefined when it carries none. */
export function parseMarker(
  description: string | undefined,
): { release: string; environment: string; service: string; rollback: boolean } | undefined {
  const match = /stepdeploy:([A-Za-z0-9._-]{1,64}):([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)(:rollback)?/.exec(
    description ?? '',
  );
  if (!match) return undefined;
  return { release: match[1], environment: match[2], service: match[3], rollback: Boolean(match[4]) };
}

/** Tag keys put on every task a run starts. */
export const TAGS = {
  release: 'stepdeploy:release',
  execution: 'stepdeploy:execution',
  environment: 'stepdeploy:environment',
  /** The task phase (`pre-deploy`, `migrate`, `post-deploy`): a step name may be both a pre- and a post-deploy step. */
  phase: 'stepdeploy:phase',
  step: 'stepdeploy:step',
} as const;
