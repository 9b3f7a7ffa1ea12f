import { z } from 'zod';
import { ValidationError } from './errors.js';

/** The environment variable through which the construct hands every handler its configuration. */
export const CONFIG_ENV = 'STEPDEPLOY_CONFIG';

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
  /** Container that receives traffic, named in the AppSpec. */
  container: z.string().min(1),
  /** Port of that container, named in the AppSpec. */
  containerPort: z.number().int().min(1).max(65535),
});

/** One production environment: a cluster in a Region with its services. */
export const EnvironmentSchema = z.object({
  name,
  region: z.string().min(1),
  /** ECS cluster name (or ARN). */
  cluster: z.string().min(1),
  network: z.object({
    subnets: z.array(z.string()).min(1),
    securityGroups: z.array(z.string()),
    assignPublicIp: z.boolean(),
  }),
  launchType: z.enum(['FARGATE', 'EC2']),
  /** Family of the task definition one-off tasks (migration, steps) run from. */
  taskDefinition: z.string().min(1),
  /** The migration's container and command; absent when the environment has none. */
  migration: z.object({ container: z.string().min(1), command: z.array(z.string()).min(1) }).optional(),
  services: z.array(ServiceSchema).min(1),
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
  /** EventBridge bus the announcements go to. */
  eventBusName: z.string().min(1),
});

export type StepConfig = z.infer<typeof StepSchema>;
export type ServiceConfig = z.infer<typeof ServiceSchema>;
export type EnvironmentConfig = z.infer<typeof EnvironmentSchema>;
export type DeployConfig = z.infer<typeof ConfigSchema>;

/** Parses the configuration; a malformed one is a `ValidationError` naming the field. */
export function parseConfig(raw: string | undefined): DeployConfig {
  if (!raw) throw new ValidationError(`${CONFIG_ENV} is not set: the construct sets it on every handler.`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(`${CONFIG_ENV} is not valid JSON.`, { cause: error });
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${CONFIG_ENV}.${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The configuration from this process's environment, parsed once. */
let cached: DeployConfig | undefined;
export function loadConfig(): DeployConfig {
  cached ??= parseConfig(process.env[CONFIG_ENV]);
  return cached;
}
