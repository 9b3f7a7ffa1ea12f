import type {
  CapacityProviderStrategyItem,
  Cluster,
  Failure,
  RunTaskRequest,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { AwsError } from '../aws-error.js';
import type { LocalClock } from '../clock.js';
import { validateTags } from './resource-tags.js';

/** How long a RunTask client token keeps answering with the tasks it started. */
export const CLIENT_TOKEN_TTL_MS = 86_400_000;

/** The Fargate capacity providers every account has. */
const FARGATE_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'];

/** Where RunTask places its tasks: a launch type, a capacity provider, the subnets of an awsvpc task. */
export interface Placement {
  launchType?: Task['launchType'];
  capacityProviderName?: string;
  /** The subnets of an `awsvpc` task, for its network interface attachment. */
  subnets?: string[];
}

/**
 * Checks what RunTask refuses of a request on its own; returns the number of tasks to
 * start. The request's placement and network are checked by `placementOf` and `subnetsOf`.
 */
export function validateRunTask(definition: TaskDefinition, request: RunTaskRequest): number {
  if (definition.status !== 'ACTIVE') {
    throw new AwsError(
      'ClientException',
      `TaskDefinition ${definition.taskDefinitionArn} is inactive; run an ACTIVE revision.`,
    );
  }
  if (request.startedBy !== undefined && !/^[A-Za-z0-9_-]{1,36}$/.test(request.startedBy)) {
    throw new AwsError(
      'InvalidParameterException',
      `startedBy ${request.startedBy} is invalid: up to 36 letters (uppercase and lowercase), numbers, hyphens and underscores are allowed.`,
    );
  }
  const count = request.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 10) {
    throw new AwsError('InvalidParameterException', `count ${count} is invalid: RunTask starts 1-10 tasks.`);
  }
  for (const override of request.overrides?.containerOverrides ?? []) {
    if (!definition.containerDefinitions?.some((container) => container.name === override.name)) {
      throw new AwsError(
        'InvalidParameterException',
        `Override for container named ${override.name} is not a container in the TaskDefinition ${definition.taskDefinitionArn}.`,
      );
    }
  }
  validateTags(request.tags);
  if (request.propagateTags === 'SERVICE') {
    throw new AwsError(
      'InvalidParameterException',
      'propagateTags SERVICE is not valid for RunTask: a task it runs belongs to no service; pass TASK_DEFINITION or NONE.',
    );
  }
  return count;
}

/**
 * Where the tasks run: the launch type, or the capacity provider strategy (the request's,
 * else the cluster's default). Both at once are refused, and so is a provider the cluster
 * is not associated with.
 */
export function placementOf(cluster: Cluster, request: RunTaskRequest): Placement {
  const requested = request.capacityProviderStrategy ?? [];
  if (request.launchType !== undefined && requested.length > 0) {
    throw new AwsError(
      'InvalidParameterException',
      'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
    );
  }
  if (request.launchType !== undefined) return { launchType: request.launchType };
  const strategy = requested.length > 0 ? requested : (cluster.defaultCapacityProviderStrategy ?? []);
  if (strategy.length === 0) return { launchType: 'FARGATE' };
  for (const item of strategy) {
    if (!cluster.capacityProviders?.includes(item.capacityProvider ?? '')) {
      throw new AwsError(
        'InvalidParameterException',
        `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster (${item.capacityProvider}, cluster ${cluster.clusterName}). Associate the capacity provider with the cluster or specify a valid capacity provider and try again.`,
      );
    }
  }
  const provider = firstProvider(strategy);
  return {
    capacityProviderName: provider,
    launchType: FARGATE_PROVIDERS.includes(provider) ? 'FARGATE' : 'EC2',
  };
}

/** The provider a strategy places a single task on: the one with a base, else the heaviest. */
function firstProvider(strategy: CapacityProviderStrategyItem[]): string {
  const withBase = strategy.find((item) => (item.base ?? 0) > 0);
  const chosen =
    withBase ?? [...strategy].sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0))[0] ?? strategy[0];
  return chosen.capacityProvider as string;
}

/**
 * The subnets of an `awsvpc` task: its network configuration is required, and refused
 * for any other network mode.
 */
export function subnetsOf(definition: TaskDefinition, request: RunTaskRequest): string[] | undefined {
  const awsvpc = request.networkConfiguration?.awsvpcConfiguration;
  if (definition.networkMode !== 'awsvpc') {
    if (request.networkConfiguration !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        'Network Configuration is not valid for the given networkMode of this task definition.',
      );
    }
    return undefined;
  }
  if (!awsvpc) {
    throw new AwsError(
      'InvalidParameterException',
      "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    );
  }
  if (!awsvpc.subnets || awsvpc.subnets.length === 0) {
    throw new AwsError('InvalidParameterException', 'subnets can not be empty.');
  }
  return awsvpc.subnets;
}

/** JSON with object keys sorted, so that two equal requests give the same text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field !== null && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : field,
  );
}

/** The parameters of a RunTask request that its client token stands for: all but the token. */
function tokenParameters(request: RunTaskRequest): Record<string, string> {
  const { clientToken: _, ...rest } = request;
  return Object.fromEntries(
    Object.entries(rest)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, canonical(value)]),
  );
}

/** What a client token started. */
export type Started = Promise<{ taskArns: string[]; failures: Failure[] }>;

/** One client token's request and what it started. */
export interface TokenEntry {
  usedAtMs: number;
  parameters: Record<string, string>;
  started: Started;
}

/** The key of a request's client token: tokens are per cluster. Undefined without one; an invalid one is refused. */
export function clientTokenKey(cluster: Cluster, request: RunTaskRequest): string | undefined {
  const token = request.clientToken;
  if (token === undefined) return undefined;
  if (token.length < 1 || token.length > 64) {
    throw new AwsError(
      'InvalidParameterException',
      `clientToken ${token} is invalid: it must be 1-64 characters.`,
    );
  }
  return `${cluster.clusterArn}|${token}`;
}

/** `ConflictException` naming the parameters that differ, when a token comes back with another request. */
export function checkSameRequest(entry: TokenEntry, request: RunTaskRequest, taskArns: string[]): void {
  const now = tokenParameters(request);
  const keys = [...new Set([...Object.keys(entry.parameters), ...Object.keys(now)])].sort();
  const changed = keys.filter((key) => entry.parameters[key] !== now[key]);
  if (changed.length === 0) return;
  throw new AwsError(
    'ConflictException',
    `The clientToken ${request.clientToken} is already in use with a different RunTask request (${changed.join(', ')} differ). Run RunTask with a unique clientToken, or with the clientToken and the original set of parameters.`,
    400,
    { resourceIds: taskArns },
  );
}

/** RunTask's client tokens, each answering for 24 hours of (scaled) time after its first use. */
export class ClientTokens {
  private readonly entries = new Map<string, TokenEntry>();

  constructor(private readonly clock: LocalClock) {}

  /** The entry of a token still within its 24 hours; an expired one is forgotten. */
  get(key: string): TokenEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && (this.clock.nowMs() - entry.usedAtMs) * this.clock.timeScale >= CLIENT_TOKEN_TTL_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Records the token's first use: the request and what it starts. */
  set(key: string, request: RunTaskRequest, started: Started): void {
    this.entries.set(key, { usedAtMs: this.clock.nowMs(), parameters: tokenParameters(request), started });
  }

  /** Forgets a token (only if it still stands for `started`, when given). */
  delete(key: string, started?: Started): void {
    if (started === undefined || this.entries.get(key)?.started === started) this.entries.delete(key);
  }
}
