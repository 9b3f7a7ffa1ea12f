import { type Parameter, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { failureOf, inCall } from './aws-errors.js';
import type { Clients } from './clients.js';
import { ValidationError } from './errors.js';
import { describeIssues } from './schemas.js';

/**
 * The environment variable through which the construct tells every handler where its
 * configuration is: the SSM Parameter Store path (`/stepdeploy/<state machine name>`).
 */
export const CONFIG_PATH_ENV = 'STEPDEPLOY_CONFIG_PATH';

const name = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 of A-Z a-z 0-9 _ -');

/** A one-off step run as an ECS task from the environment's one-off task definition. */
export const StepSchema = z.object({
  name,
  container: z.string().min(1),
  command: z.array(z.string()).min(1),
});

/** An ECS service deployed by CodeDeploy blue/green. */
export const ServiceSchema = z.object({
  /** Logical name within the environment (`web`, `worker`). */
  name,
  /** `worker` services have their old tasks retired as soon as every deployment succeeded. */
  role: z.enum(['web', 'worker']),
  /** ECS service name. */
  service: z.string().min(1),
  /** CodeDeploy application name. */
  application: z.string().min(1),
  /** CodeDeploy deployment group name. */
  deploymentGroup: z.string().min(1),
  /** Family of the service's task definition; the plan records only its revision numbers. */
  family: z.string().min(1),
  /** Container that receives traffic, named in the AppSpec. */
  container: z.string().min(1),
  /** Port of that container, named in the AppSpec. */
  containerPort: z.number().int().min(1).max(65535),
});

/** One capacity provider of a strategy, as RunTask takes it. */
export const CapacityProviderItemSchema = z.object({
  capacityProvider: z.string().min(1),
  weight: z.number().int().min(0).max(1000).optional(),
  base: z.number().int().min(0).max(100000).optional(),
});

/** One production environment: a cluster in a Region with its services. */
export const EnvironmentSchema = z
  .object({
    name,
    region: z.string().min(1),
    /** ECS cluster name (or ARN). */
    cluster: z.string().min(1),
    /**
     * Where one-off tasks run: present only when their task definition uses the `awsvpc`
     * network mode, the only one RunTask takes a network configuration for.
     */
    network: z
      .object({
        subnets: z.array(z.string()).min(1),
        securityGroups: z.array(z.string()),
        assignPublicIp: z.boolean(),
      })
      .optional(),
    /** How one-off tasks are launched; absent when they use a capacity provider strategy. */
    launchType: z.enum(['FARGATE', 'EC2']).optional(),
    /** The capacity provider strategy of one-off tasks, instead of a launch type (cluster auto scaling). */
    capacityProviderStrategy: z.array(CapacityProviderItemSchema).min(1).max(20).optional(),
    /** Family of the task definition one-off tasks (migration, steps) run from. */
    taskDefinition: z.string().min(1),
    /** The migration's container and command; absent when the environment has none. */
    migration: z.object({ container: z.string().min(1), command: z.array(z.string()).min(1) }).optional(),
    services: z.array(ServiceSchema).min(1),
    /** CloudWatch alarms (names, in the environment's Region) watched while its wave deploys and bakes. */
    alarms: z.array(z.string().min(1).max(255)).max(100).optional(),
  })
  // RunTask takes one of the two: both are refused, and neither would fall back to the cluster's default.
  .refine((env) => (env.launchType === undefined) !== (env.capacityProviderStrategy === undefined), {
    message: 'set exactly one of launchType and capacityProviderStrategy',
    path: ['launchType'],
  });

/**
 * How the deployments of a wave move production traffic, as the construct could tell at synth:
 * `together` and `independent` are decided; for a wave with deployment groups it could not read
 * (imported ones), Plan reads them: `verify` refuses to start unless every one has a
 * STOP_DEPLOYMENT ready wait (`cutover: 'together'` was asked for), `detect` cuts over together
 * when every one has it and independently otherwise.
 */
export const WaveCutOverSchema = z.enum(['together', 'independent', 'verify', 'detect']);

/** One wave: environments deployed at once, after the previous wave baked. */
export const WaveSchema = z.object({
  environments: z.array(name).min(1),
  cutover: WaveCutOverSchema,
});

/** The deploy configuration, fixed at synth by the construct. */
export const ConfigSchema = z.object({
  environments: z.array(EnvironmentSchema).min(1),
  preDeploySteps: z.array(StepSchema),
  postDeploySteps: z.array(StepSchema),
  /** Seconds between two looks at tasks or deployments inside one check. */
  pollSeconds: z.number().positive(),
  /** Seconds one check invocation keeps watching before it hands back to the state machine. */
  watchSeconds: z.number().positive(),
  /** Seconds a deployment may stay in flight (traffic not moved) before CheckDeployments fails the run. */
  deploymentTimeoutSeconds: z.number().positive(),
  /** EventBridge bus the announcements go to. */
  eventBusName: z.string().min(1),
  /** The waves in order; absent: one wave of every environment, cut over independently. */
  waves: z.array(WaveSchema).min(1).optional(),
  /** Seconds each wave bakes (its alarms watched) once its traffic moved; absent: 0. */
  bakeSeconds: z.number().nonnegative().optional(),
  /** What a failure rolls back: every wave released so far, or only the failing wave; absent: all. */
  rollbackScope: z.enum(['all', 'wave']).optional(),
  /**
   * What Plan does about an earlier release's deployments still in their termination wait:
   * `continue` ends the wait (ContinueDeployment TERMINATION_WAIT), `refuse` fails the run as
   * for any foreign deployment. Absent: `continue`.
   */
  onPreviousTerminationWait: z.enum(['continue', 'refuse']).optional(),
});

export type StepConfig = z.infer<typeof StepSchema>;
export type ServiceConfig = z.infer<typeof ServiceSchema>;
export type EnvironmentConfig = z.infer<typeof EnvironmentSchema>;
export type DeployConfig = z.infer<typeof ConfigSchema>;
export type WaveConfig = z.infer<typeof WaveSchema>;
export type WaveCutOver = z.infer<typeof WaveCutOverSchema>;

/** Everything of the configuration but the environments, which it names in order. */
export const GlobalConfigSchema = ConfigSchema.omit({ environments: true }).extend({
  /** Names of the environments, each configured in a parameter of its own, in the order of the configuration. */
  environments: z.array(name).min(1),
});

export type GlobalConfig = z.infer<typeof GlobalConfigSchema>;

/** One String parameter of the configuration: its full name and its JSON value. */
export interface ConfigParameter {
  name: string;
  value: string;
}

/** The Parameter Store path of the configuration of the state machine named `stateMachineName`. */
export function configPath(stateMachineName: string): string {
  return `/stepdeploy/${stateMachineName}`;
}

/** The parameter holding the {@link GlobalConfig} under `path`. */
export function globalParameterName(path: string): string {
  return `${trimSlash(path)}/global`;
}

/** The parameter holding the configuration of environment `environment` under `path`. */
export function environmentParameterName(path: string, environment: string): string {
  return `${trimSlash(path)}/environments/${environment}`;
}

/**
 * Splits the configuration into its global part and one part per environment: one
 * parameter each, so that no parameter outgrows Parameter Store's size limit.
 */
export function splitConfig(config: DeployConfig): {
  global: GlobalConfig;
  environments: EnvironmentConfig[];
} {
  const { environments, ...rest } = config;
  return { global: { ...rest, environments: environments.map((env) => env.name) }, environments };
}

/** The parameters that hold `config` under `path`, as the construct writes them. */
export function configParameters(path: string, config: DeployConfig): ConfigParameter[] {
  const { global, environments } = splitConfig(config);
  return [
    { name: globalParameterName(path), value: JSON.stringify(global) },
    ...environments.map((env) => ({
      name: environmentParameterName(path, env.name),
      value: JSON.stringify(env),
    })),
  ];
}

/**
 * Assembles the configuration from the parameters found under `path`: the global one
 * and one per environment it names. Each is validated on its own, so a problem names
 * the parameter and the field; a missing parameter is named with the path it was looked for under.
 */
export function assembleConfig(path: string, parameters: ReadonlyArray<Parameter>): DeployConfig {
  const values = new Map<string, string>();
  for (const parameter of parameters) {
    if (parameter.Name !== undefined && parameter.Value !== undefined)
      values.set(parameter.Name, parameter.Value);
  }
  const where = `under ${path} (${CONFIG_PATH_ENV})`;
  const read = <T>(parameterName: string, schema: z.ZodType<T>): T => {
    const raw = values.get(parameterName);
    if (raw === undefined) {
      throw new ValidationError(
        `Parameter ${parameterName} was not found ${where}; deploy the stack of the orchestrator, ` +
          `or point ${CONFIG_PATH_ENV} at the path it writes its configuration to.`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw new ValidationError(
        `Parameter ${parameterName} is not valid JSON; write it with the construct.`,
        {
          cause: error,
        },
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ValidationError(
        describeIssues('', parsed.error)
          .map(
            (line) =>
              `Parameter ${parameterName}, ${line.startsWith(':') ? 'value' : `field ${line.slice(1)}`}`,
          )
          .join('\n'),
      );
    }
    return parsed.data;
  };

  const global = read(globalParameterName(path), GlobalConfigSchema);
  const environments = global.environments.map((envName) => {
    const parameterName = environmentParameterName(path, envName);
    const env = read(parameterName, EnvironmentSchema);
    if (env.name !== envName) {
      throw new ValidationError(
        `Parameter ${parameterName} configures environment '${env.name}'; it must configure '${envName}', ` +
          'the environment its name and the global parameter give it.',
      );
    }
    return env;
  });
  return { ...global, environments };
}

/** Parses a configuration given whole as JSON; a malformed one is a `ValidationError` naming the field. */
export function parseConfig(raw: string | undefined, source = 'configuration'): DeployConfig {
  if (!raw) throw new ValidationError(`The ${source} is empty: pass the deploy configuration as JSON.`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(`The ${source} is not valid JSON.`, { cause: error });
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) throw new ValidationError(describeIssues(source, parsed.error).join('\n'));
  return parsed.data;
}

/** The most parameters GetParametersByPath returns in one page. */
const PAGE_SIZE = 10;

/**
 * Cached configurations by SSM client, then by path. Handlers make their clients once per
 * module instance (per Lambda container, or per local AWS instance when run in process), so
 * a configuration is read once per container and never served to a client of another endpoint.
 */
const cache = new WeakMap<object, Map<string, Promise<DeployConfig>>>();

/**
 * Reads the configuration from the Parameter Store path in `STEPDEPLOY_CONFIG_PATH` (every
 * page, recursively) with the handler's own SSM client in its Region, and validates it. The result is cached per
 * client and path; a failed read is not, so the next invocation reads again.
 */
export function loadConfig(clients: Pick<Clients, 'ssm'>): Promise<DeployConfig> {
  const path = process.env[CONFIG_PATH_ENV];
  if (!path) {
    return Promise.reject(
      new ValidationError(
        `${CONFIG_PATH_ENV} is not set: the construct sets it on every handler to the Parameter Store path of its configuration.`,
      ),
    );
  }
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) {
    return Promise.reject(
      new ValidationError(
        'AWS_REGION is not set: the configuration is read from the Region the handler runs in.',
      ),
    );
  }
  const ssm = clients.ssm(region);
  let byPath = cache.get(ssm);
  if (!byPath) {
    byPath = new Map();
    cache.set(ssm, byPath);
  }
  let loading = byPath.get(path);
  if (!loading) {
    loading = inCall('GetParametersByPath', path, () => readParameters(ssm, path))
      .catch((error: unknown) => {
        throw failureOf(error, 'Reading the configuration', 'nothing was done');
      })
      .then((parameters) => assembleConfig(path, parameters));
    byPath.set(path, loading);
    const entries = byPath;
    loading.catch(() => entries.delete(path));
  }
  return loading;
}

async function readParameters(ssm: ReturnType<Clients['ssm']>, path: string): Promise<Parameter[]> {
  const parameters: Parameter[] = [];
  const pages = paginateGetParametersByPath(
    { client: ssm },
    { Path: trimSlash(path), Recursive: true, MaxResults: PAGE_SIZE },
  );
  for await (const page of pages) parameters.push(...(page.Parameters ?? []));
  return parameters;
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
