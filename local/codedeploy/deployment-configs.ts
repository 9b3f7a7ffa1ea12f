import { AwsError } from '../aws-error.js';

/**
 * How a deployment configuration moves production traffic to the replacement task set:
 * the percentages in order, and the minutes between two of them.
 */
export interface TrafficSteps {
  percentages: number[];
  intervalMinutes: number;
}

const linear = (percent: number, intervalMinutes: number): TrafficSteps => ({
  percentages: Array.from({ length: Math.ceil(100 / percent) }, (_, i) => Math.min(100, (i + 1) * percent)),
  intervalMinutes,
});

const canary = (percent: number, intervalMinutes: number): TrafficSteps => ({
  percentages: [percent, 100],
  intervalMinutes,
});

/**
 * CodeDeploy's predefined ECS deployment configurations
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
 */
export const ECS_DEPLOYMENT_CONFIGS: Readonly<Record<string, TrafficSteps>> = {
  'CodeDeployDefault.ECSAllAtOnce': { percentages: [100], intervalMinutes: 0 },
  'CodeDeployDefault.ECSLinear10PercentEvery1Minutes': linear(10, 1),
  'CodeDeployDefault.ECSLinear10PercentEvery3Minutes': linear(10, 3),
  'CodeDeployDefault.ECSCanary10Percent5Minutes': canary(10, 5),
  'CodeDeployDefault.ECSCanary10Percent15Minutes': canary(10, 15),
};

/** The configuration a group gets when it names none, and the one rollback deployments use. */
export const DEFAULT_ECS_CONFIG = 'CodeDeployDefault.ECSAllAtOnce';

/** The traffic steps of `name`; a name CodeDeploy does not know is `DeploymentConfigDoesNotExistException`. */
export function trafficStepsOf(name: string): TrafficSteps {
  const steps = ECS_DEPLOYMENT_CONFIGS[name];
  if (!steps) {
    throw new AwsError(
      'DeploymentConfigDoesNotExistException',
      `Deployment configuration ${name} does not exist for the ECS compute platform; use one of ${Object.keys(ECS_DEPLOYMENT_CONFIGS).join(', ')}.`,
    );
  }
  return steps;
}
