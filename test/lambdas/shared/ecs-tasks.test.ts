import { describe, expect, it } from 'vitest';
import { causeText } from '../../../lambdas/shared/caught-error.js';
import {
  chunk,
  describeTaskFailure,
  environmentOf,
  familyOf,
  parseTaskFailures,
  phaseTasks,
  regionOfArn,
  revisionOf,
  stepContainer,
  stopReasonOf,
  taskIdOf,
} from '../../../lambdas/shared/ecs-tasks.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import type { TaskFailure } from '../../../lambdas/shared/types.js';
import { environment, testConfig } from './fixtures.js';

const config = testConfig();

describe('task definition and task names', () => {
  it.each([
    ['arn:aws:ecs:us-east-1:123456789012:task-definition/app-web:12', 'app-web:12', 'app-web'],
    ['app-web:3', 'app-web:3', 'app-web'],
    ['app-web', 'app-web', 'app-web'],
  ])('%s is revision %s of family %s', (name, revision, family) => {
    expect(revisionOf(name)).toBe(revision);
    expect(familyOf(name)).toBe(family);
  });

  it.each([
    ['arn:aws:ecs:us-east-1:123456789012:task/prod/0a1b2c', '0a1b2c'],
    ['arn:aws:ecs:us-east-1:123456789012:task/0a1b2c', '0a1b2c'],
  ])('task %s has id %s', (arn, id) => {
    expect(taskIdOf(arn)).toBe(id);
  });

  it('reads the Region of an ARN and refuses what is not one', () => {
    expect(regionOfArn('arn:aws:states:eu-west-1:1:stateMachine:Deploy')).toBe('eu-west-1');
    expect(() => regionOfArn('Deploy')).toThrow(ValidationError);
  });

  it('chunks into batches', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 100)).toEqual([]);
  });
});

describe('phaseTasks', () => {
  it.each([
    { phase: 'migrate' as const, skip: false, env: environment('us'), steps: ['migrate'] },
    { phase: 'migrate' as const, skip: true, env: environment('us'), steps: [] },
    { phase: 'migrate' as const, skip: false, env: environment('us', { migration: undefined }), steps: [] },
    { phase: 'pre-deploy' as const, skip: true, env: environment('us'), steps: ['assets'] },
    { phase: 'post-deploy' as const, skip: false, env: environment('us'), steps: ['tag-release'] },
  ])('$phase (skipMigrations $skip) runs $steps', ({ phase, skip, env, steps }) => {
    expect(phaseTasks(config, phase, env, skip).map((task) => task.step)).toEqual(steps);
  });

  it('finds the container that decides a step', () => {
    expect(stepContainer(config, environment('us'), 'migrate')).toBe('app');
    expect(stepContainer(config, environment('us'), 'tag-release')).toBe('app');
    expect(stepContainer(config, environment('us'), 'gone')).toBeUndefined();
  });

  it('names the configured environments when one is not', () => {
    expect(() => environmentOf(config, 'mars')).toThrow(
      'Environment "mars" is not configured; configured: us, eu, au',
    );
  });
});

describe('failure text', () => {
  const failures: TaskFailure[] = [
    {
      environment: 'eu',
      step: 'migrate',
      exitCode: 1,
      stopCode: 'EssentialContainerExited',
      reason: 'Essential container in task exited',
    },
    { environment: 'au', step: 'tag-release', exitCode: null, reason: 'failed to start: RESOURCE:CPU: a: b' },
  ];

  it('reads back what it writes', () => {
    const text = ['Phase migrate failed:', ...failures.map(describeTaskFailure), 'Fix it.'].join('\n');

    expect(parseTaskFailures(text)).toEqual(failures);
  });

  it('finds no failures in unrelated text', () => {
    expect(parseTaskFailures('Task timed out after 900.00 seconds')).toEqual([]);
  });

  it('writes a stop reason ECS takes', () => {
    expect(stopReasonOf(failures)).toBe(
      'stepdeploy: stopped because eu/migrate exited 1: Essential container in task exited; au/tag-release failed: failed to start: RESOURCE:CPU: a: b',
    );
    expect(stopReasonOf([])).toBe('stepdeploy: stopped because the phase failed');
  });
});

describe('causeText', () => {
  it.each([
    [
      JSON.stringify({
        errorType: 'TaskFailedError',
        errorMessage: 'eu/migrate: exit code 1: boom',
        trace: [],
      }),
      'eu/migrate: exit code 1: boom',
    ],
    ['Task timed out after 900.00 seconds', 'Task timed out after 900.00 seconds'],
    ['{"not":"lambda"}', '{"not":"lambda"}'],
  ])('reads %s', (cause, expected) => {
    expect(causeText({ Error: 'X', Cause: cause })).toBe(expected);
  });
});
