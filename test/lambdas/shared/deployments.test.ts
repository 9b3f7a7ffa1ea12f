import { createHash } from 'node:crypto';
import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import { describe, expect, it } from 'vitest';
import {
  appSpecOf,
  decideRollback,
  deploymentVerdict,
  earlierReleaseWaits,
  endedWaitIds,
  type GroupSurvey,
  plannedServices,
} from '../../../lambdas/shared/deployments.js';
import { chunk } from '../../../lambdas/shared/ecs-tasks.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { deploymentMarker, rollbackMarker } from '../../../lambdas/shared/markers.js';
import type { RollbackAction } from '../../../lambdas/shared/types.js';
import { config, plan } from './deployment-fixtures.js';

describe('decideRollback', () => {
  it.each<[string, Partial<DeploymentInfo>, RollbackAction]>([
    ['created', { status: 'Created' }, 'stop'],
    ['queued', { status: 'Queued' }, 'stop'],
    ['shifting traffic', { status: 'InProgress' }, 'stop'],
    ['ready, waiting to reroute', { status: 'Ready' }, 'stop'],
    ['in termination wait', { status: 'InProgress', instanceTerminationWaitTimeStarted: true }, 'stop'],
    ['ready in termination wait', { status: 'Ready', instanceTerminationWaitTimeStarted: true }, 'stop'],
    ['succeeded', { status: 'Succeeded' }, 'redeploy'],
    ['failed and rolled back', { status: 'Failed', rollbackInfo: { rollbackDeploymentId: 'd-rb' } }, 'adopt'],
    [
      'stopped and rolled back',
      { status: 'Stopped', rollbackInfo: { rollbackDeploymentId: 'd-rb' } },
      'adopt',
    ],
    ['failed before traffic moved', { status: 'Failed' }, 'none'],
    [
      'stopped before traffic moved',
      { status: 'Stopped', rollbackInfo: { rollbackMessage: 'no rollback' } },
      'none',
    ],
  ])('%s -> %s', (_name, info, expected) => {
    // Act
    const action = decideRollback(info);

    // Assess
    expect(action).toBe(expected);
  });
});

describe('deploymentVerdict', () => {
  // CodeDeploy leaves instanceTerminationWaitTimeStarted false for ECS; the target Succeeded
  // while the deployment is InProgress tells traffic moved (containers-roadmap#269).
  it.each<[Partial<DeploymentInfo>, boolean, string]>([
    [{ status: 'Succeeded' }, false, 'SUCCEEDED'],
    [{ status: 'InProgress' }, true, 'SUCCEEDED'],
    [{ status: 'InProgress', instanceTerminationWaitTimeStarted: false }, false, 'RUNNING'],
    [{ status: 'InProgress', instanceTerminationWaitTimeStarted: true }, false, 'SUCCEEDED'],
    [{ status: 'Ready', instanceTerminationWaitTimeStarted: true }, false, 'SUCCEEDED'],
    [{ status: 'Ready' }, false, 'RUNNING'],
    [{ status: 'Baking' }, false, 'RUNNING'],
    [{ status: 'Created' }, false, 'RUNNING'],
    [{ status: 'Failed' }, false, 'FAILED'],
    [{ status: 'Stopped' }, true, 'FAILED'],
    [{ status: 'Stopped', instanceTerminationWaitTimeStarted: true }, false, 'FAILED'],
  ])('%j, target succeeded %s -> %s', (info, targetSucceeded, expected) => {
    // Act
    const verdict = deploymentVerdict(info, targetSucceeded);

    // Assess
    expect(verdict).toBe(expected);
  });
});

describe('appSpecOf', () => {
  it('hashes exactly the content it returns and keeps the AppSpec version 0.0', () => {
    // Act
    const appSpec = appSpecOf('arn:aws:ecs:us-east-1:123456789012:task-definition/web:7', {
      container: 'app',
      containerPort: 3000,
    });

    // Assess
    expect(appSpec.sha256).toBe(createHash('sha256').update(appSpec.content).digest('hex'));
    expect(appSpec.content.startsWith('{"version":0.0,')).toBe(true);
  });
});

describe('chunk', () => {
  it.each([
    [0, []],
    [25, [25]],
    [26, [25, 1]],
    [60, [25, 25, 10]],
  ])('%i ids -> batches %j', (count, sizes) => {
    // Act
    const batches = chunk(
      Array.from({ length: count }, (_, i) => i),
      25,
    );

    // Assess
    expect(batches.map((b) => b.length)).toEqual(sizes);
  });
});

describe('plannedServices', () => {
  it('refuses a plan naming an environment the configuration lacks', () => {
    // Act
    const attempt = () => plannedServices(config, { ...plan, environments: ['us', 'ap'] });

    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/plan.environments: environment "ap" is not configured/);
  });
});

describe('earlierReleaseWaits', () => {
  const group = { environment: config.environments[0], service: config.environments[0].services[0] };
  const survey = (info: DeploymentInfo, trafficMoved: boolean): GroupSurvey => ({
    group,
    marker: deploymentMarker('r2', 'us', 'web'),
    foreign: [info],
    trafficMoved: new Set(trafficMoved ? [info.deploymentId as string] : []),
  });
  const marked = { deploymentId: 'd-1', description: deploymentMarker('r1', 'us', 'web') };

  it.each<[string, DeploymentInfo, boolean, string | undefined]>([
    [
      "a release's deployment, traffic moved (target Succeeded)",
      { ...marked, status: 'InProgress' },
      true,
      'r1',
    ],
    [
      'the flag CodeDeploy may one day set',
      { ...marked, status: 'InProgress', instanceTerminationWaitTimeStarted: true },
      false,
      'r1',
    ],
    [
      "a release's own rollback deployment in its wait",
      { deploymentId: 'd-1', description: rollbackMarker('r1', 'us', 'web'), status: 'InProgress' },
      true,
      'r1',
    ],
    ["a release's deployment still shifting traffic", { ...marked, status: 'InProgress' }, false, undefined],
    ["a release's deployment in its ready wait", { ...marked, status: 'Ready' }, false, undefined],
    [
      'a deployment made by hand',
      { deploymentId: 'd-1', description: 'hotfix', status: 'InProgress' },
      true,
      undefined,
    ],
    [
      'a rollback CodeDeploy made, carrying the marker it rolls back',
      { ...marked, status: 'InProgress', creator: 'codeDeployRollback' },
      true,
      undefined,
    ],
  ])('%s: %s', (_name, info, trafficMoved, release) => {
    // Act
    const waits = earlierReleaseWaits([survey(info, trafficMoved)]);

    // Assess
    expect(waits).toEqual(release ? [{ group, release, deploymentId: 'd-1' }] : []);
  });

  it('reads the ended waits of a plan back as ids', () => {
    expect(
      endedWaitIds({
        endedWaits: [
          { release: 'r0', deployments: { us: { web: 'd-1' } } },
          { release: 'r1', deployments: { us: { worker: 'd-2' }, eu: { web: 'd-3' } } },
        ],
      }),
    ).toEqual(new Set(['d-1', 'd-2', 'd-3']));
    expect(endedWaitIds({})).toEqual(new Set());
  });
});
