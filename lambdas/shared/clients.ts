import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

/** SDK clients per Region, made once per Lambda container and reused across invocations. */
export interface Clients {
  ecs(region: string): ECSClient;
  codedeploy(region: string): CodeDeployClient;
  logs(region: string): CloudWatchLogsClient;
  sfn(region: string): SFNClient;
  events(region: string): EventBridgeClient;
  /** Parameter Store, where the construct writes the deploy configuration. */
  ssm(region: string): SSMClient;
}

type Ctor<T> = new (config: { region: string; retryMode: string; maxAttempts: number }) => T;

function perRegion<T>(ctor: Ctor<T>): (region: string) => T {
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

/** The clients of this process. Endpoints follow the SDK's own settings (`AWS_ENDPOINT_URL`...). */
export function createClients(): Clients {
  return {
    ecs: perRegion(ECSClient),
    codedeploy: perRegion(CodeDeployClient),
    logs: perRegion(CloudWatchLogsClient),
    sfn: perRegion(SFNClient),
    events: perRegion(EventBridgeClient),
    ssm: perRegion(SSMClient),
  };
}
