import type { Clock } from '../../../lambdas/shared/clock.js';
import type { DeployConfig, EnvironmentConfig } from '../../../lambdas/shared/config.js';
import { runIdOf } from '../../../lambdas/shared/markers.js';
import type { Plan } from '../../../lambdas/shared/types.js';

/** The Regions of the three test environments. */
export const REGIONS: Record<string, string> = { us: 'us-east-1', eu: 'eu-west-1', au: 'ap-southeast-2' };

/** One environment like the sample stack's: web and worker, a migration, its own cluster. */
export function environment(name: string, overrides: Partial<EnvironmentConfig> = {}): EnvironmentConfig {
  return {
    name,
    region: REGIONS[name] ?? 'us-east-1',
    cluster: `${name}-cluster`,
    network: { subnets: [`subnet-${name}`], securityGroups: [`sg-${name}`], assignPublicIp: false },
    launchType: 'FARGATE',
    taskDefinition: `${name}-oneoff`,
    migration: { container: 'app', command: ['node', 'migrate.mjs'] },
    services: [
      {
        name: 'web',
        role: 'web',
        service: `${name}-web`,
        application: `${name}-app`,
        deploymentGroup: `${name}-web`,
        family: `${name}-web`,
        container: 'app',
        containerPort: 3000,
      },
      {
        name: 'worker',
        role: 'worker',
        service: `${name}-worker`,
        application: `${name}-app`,
        deploymentGroup: `${name}-worker`,
        family: `${name}-worker`,
        container: 'app',
        containerPort: 4000,
      },
    ],
    ...overrides,
  };
}

/** A configuration of `us`, `eu` and `au`, one pre-deploy and one post-deploy step. */
export function testConfig(overrides: Partial<DeployConfig> = {}): DeployConfig {
  return {
    environments: [environment('us'), environment('eu'), environment('au')],
    preDeploySteps: [{ name: 'assets', container: 'app', command: ['node', 'upload-assets.mjs'] }],
    postDeploySteps: [{ name: 'tag-release', container: 'app', command: ['node', 'tag-release.mjs'] }],
    pollSeconds: 5,
    watchSeconds: 60,
    deploymentTimeoutSeconds: 7200,
    eventBusName: 'default',
    ...overrides,
  };
}

/** A clock whose sleeps return at once and are recorded; its time moves by what was slept. */
export function fakeClock(nowMs = Date.parse('2026-11-26T07:00:00.000Z')): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    nowMs: () => nowMs + sleeps.reduce((total, ms) => total + ms, 0),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    elapsedMs(sinceMs) {
      return this.nowMs() - sinceMs;
    },
  };
}

/** The execution ARN of the tests' run. */
export const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26_3';
/** The state machine of the tests' run. */
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Deploy';

/** A plan of release `2026-11-26.3` for the tests' run to `us`, `eu` and `au`, no services: what the task phases read. */
export function taskPlan(): Plan {
  return {
    release: '2026-11-26.3',
    runId: runIdOf(EXECUTION_ARN),
    startedAt: '2026-11-26T07:00:00.000Z',
    account: '123456789012',
    environments: ['us', 'eu', 'au'],
    skipMigrations: false,
    oneOff: { us: 'us-oneoff:2', eu: 'eu-oneoff:2', au: 'au-oneoff:2' },
    services: {},
  };
}

/** An error as the AWS SDK throws it for a service's answer: its name, message and HTTP status. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
  });
}

/** The error the SDK throws once its retries of a throttled call are spent. */
export const throttled = (operation = 'the call') =>
  awsError('ThrottlingException', `Rate exceeded (${operation})`);
