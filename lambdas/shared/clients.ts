// Types only: a handler loads the SDK packages of the clients it passes to createClients and
// no others, which keeps each bundle's import graph, and so its cold start, to what it uses.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';

/**
 * SDK clients per Region, made once per Lambda container and reused across invocations.
 * Cores take `Pick<Clients, ...>` of the clients they call.
 */
export interface Clients {
  ecs(region: string): ECSClient;
  codedeploy(region: string): CodeDeployClient;
  logs(region: string): CloudWatchLogsClient;
  /** CloudWatch, for the alarms watched while a wave deploys and bakes. */
  cloudwatch(region: string): CloudWatchClient;
  sfn(region: string): SFNClient;
  events(region: string): EventBridgeClient;
  /** Parameter Store, where the construct writes the deploy configuration. */
  ssm(region: string): SSMClient;
}

/** The settings every client is made with. */
export interface ClientSettings {
  region: string;
  retryMode: string;
  maxAttempts: number;
}

/** An SDK client class, such as `ECSClient`. */
export type ClientConstructor<T = unknown> = new (settings: ClientSettings) => T;

/** One per-Region factory for each client class of `C`, under the same key. */
export type ClientFactories<C extends Record<string, ClientConstructor>> = {
  readonly [K in keyof C]: (region: string) => InstanceType<C[K]>;
};

function perRegion<T>(ctor: ClientConstructor<T>): (region: string) => T {
  const byRegion = new Map<string, T>();
  return (region) => {
    let client = byRegion.get(region);
    if (!client) {
      // Adaptive retry backs off on throttling across every call this container makes.
      client = new ctor({ region, retryMode: 'adaptive', maxAttempts: 8 });
      byRegion.set(region, client);
    }
    return client;
  };
}

/**
 * The clients of this process, one factory per class given, each making (on first use) and
 * caching one client per Region: `createClients({ ecs: ECSClient, ssm: SSMClient })`.
 * Name them as in {@link Clients} so the result fits the cores' `Pick<Clients, ...>`.
 * Endpoints follow the SDK's own settings (`AWS_ENDPOINT_URL`...).
 */
export function createClients<C extends Record<string, ClientConstructor>>(
  constructors: C,
): ClientFactories<C> {
  const factories: Record<string, (region: string) => unknown> = {};
  for (const [key, ctor] of Object.entries(constructors)) factories[key] = perRegion(ctor);
  // Built key by key from `constructors`, so each factory makes instances of its own class.
  return factories as ClientFactories<C>;
}
