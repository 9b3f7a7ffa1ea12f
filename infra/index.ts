/**
 * stepdeploy: a CDK construct that ships a release of an Amazon ECS application to every
 * production environment as one AWS Step Functions execution.
 */

export type { DeployConfig, EnvironmentConfig, ServiceConfig, StepConfig } from '../lambdas/shared/config.js';
export type { ReleaseInput } from '../lambdas/shared/types.js';
export { DeployOrchestrator } from './deploy-orchestrator.js';
export type * from './orchestrator-props.js';
