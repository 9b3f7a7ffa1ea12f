import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { benchNames, sleepCommand, synthesizeBenchTemplate } from '../../bench/bench-stack.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('sleepCommand', () => {
  it('sleeps the simulated duration divided by the time scale', () => {
    expect(sleepCommand(Duration.minutes(10), 50)).toEqual(['sleep', '12.000']);
    expect(sleepCommand(Duration.seconds(30), 1000)).toEqual(['sleep', '0.030']);
  });
});

describe('benchNames', () => {
  it('names environments and services in order', () => {
    expect(benchNames(2, 3)).toEqual({ environments: ['e00', 'e01'], services: ['s00', 's01', 's02'] });
  });
});

describe('synthesizeBenchTemplate', () => {
  const { template, config } = synthesizeBenchTemplate({
    environments: 2,
    services: 3,
    timeScale: 10,
    migration: Duration.minutes(10),
    step: Duration.seconds(30),
    readyWait: Duration.minutes(60),
  });
  const resources = Object.values(template.Resources as Record<string, Resource>);
  const ofType = (type: string) => resources.filter((resource) => resource.Type === type);

  it('has a cluster per environment and a deployment group per service, each with the ready wait', () => {
    expect(ofType('AWS::ECS::Cluster')).toHaveLength(2);
    const groups = ofType('AWS::CodeDeploy::DeploymentGroup');
    expect(groups).toHaveLength(6);
    for (const group of groups) {
      expect(group.Properties.BlueGreenDeploymentConfiguration).toMatchObject({
        DeploymentReadyOption: { ActionOnTimeout: 'STOP_DEPLOYMENT', WaitTimeInMinutes: 60 },
      });
    }
  });

  it('hands the orchestrator every environment and service, the migration sleeping its scaled time', () => {
    expect(config.environments.map((env) => env.name)).toEqual(['e00', 'e01']);
    expect(config.environments[0].services.map((service) => [service.name, service.role])).toEqual([
      ['s00', 'worker'],
      ['s01', 'web'],
      ['s02', 'web'],
    ]);
    expect(config.environments[0].migration?.command).toEqual(['sleep', '60.000']);
    expect(config.preDeploySteps[0].command).toEqual(['sleep', '3.000']);
    expect(config.pollSeconds).toBe(5);
    expect(config.watchSeconds).toBe(600);
  });
});
