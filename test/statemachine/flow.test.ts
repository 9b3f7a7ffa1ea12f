import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import {
  type AslDefinition,
  type AslState,
  extractDefinition,
  type Template,
  taskHandlers,
} from '../../statemachine/asl.js';
import { LAMBDA_SERVICE_ERRORS } from '../../statemachine/invoke.js';

type Validator = (definition: unknown) => { isValid: boolean; errors: unknown[] };
const validateAsl = createRequire(import.meta.url)('asl-validator') as Validator;

let template: Template;
let definition: AslDefinition;

const state = (name: string): AslState => {
  const found = definition.States[name];
  if (!found) throw new Error(`no state ${name}`);
  return found;
};

beforeAll(() => {
  template = synthesizeSampleTemplate() as Template;
  definition = extractDefinition(template);
});

describe('the synthesized definition', () => {
  it('passes asl-validator', () => {
    // The validator writes defaults into the definition it checks: give it a copy.
    const result = validateAsl(structuredClone(definition));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('names the states as the design does, from Plan to Announce', () => {
    expect(definition.StartAt).toBe('Plan');
    for (const name of [
      'Plan',
      'PreDeploySteps',
      'Migrate',
      'CheckMigrate',
      'Migrate?',
      'StopMigrate',
      'Deploy',
      'CheckDeploy',
      'CutOver',
      'Bake',
      'NextWave?',
      'RollBack',
      'AwaitRollbacks',
      'RetireOldWorkers',
      'PostDeploySteps',
      'Announce',
      'Released?',
    ]) {
      expect(definition.States).toHaveProperty([name]);
    }
  });

  it('has no Wait state: the checks long-poll', () => {
    expect(Object.values(definition.States).filter((s) => s.Type === 'Wait')).toEqual([]);
  });

  it('maps every Lambda task to its handler verb', () => {
    expect(taskHandlers(template)).toMatchObject({
      Plan: 'plan',
      PreDeploySteps: 'start-tasks',
      CheckMigrate: 'check-tasks',
      StopPostDeploySteps: 'stop-tasks',
      Deploy: 'start-deployments',
      CheckDeploy: 'check-deployments',
      CutOver: 'cut-over',
      Bake: 'check-bake',
      RollBack: 'roll-back',
      AwaitRollbacks: 'check-rollbacks',
      RetireOldWorkers: 'retire-old-workers',
      Announce: 'announce',
    });
  });

  it('retries Lambda service errors, the function’s timeout and TransientError, and only those, on every task; Deploy also a group still finishing', () => {
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBe(21);
    for (const [name, task] of tasks) {
      // Deploy waits for an earlier release's deployment whose termination wait Plan ended.
      const finishing =
        name === 'Deploy'
          ? [
              {
                ErrorEquals: ['PreviousDeploymentFinishingError'],
                IntervalSeconds: 15,
                BackoffRate: 2,
                MaxAttempts: 4,
              },
            ]
          : [];
      expect(task.Retry, name).toEqual([
        {
          ErrorEquals: LAMBDA_SERVICE_ERRORS,
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxAttempts: 6,
          JitterStrategy: 'FULL',
        },
        { ErrorEquals: ['Sandbox.Timedout'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 2 },
        {
          ErrorEquals: ['TransientError'],
          IntervalSeconds: 5,
          BackoffRate: 2,
          MaxAttempts: 6,
          MaxDelaySeconds: 60,
          JitterStrategy: 'FULL',
        },
        ...finishing,
      ]);
    }
  });

  // The cleanup (lambdas/cleanup/core.ts, handlerOutputOf) and tail-deploy read the handlers'
  // results from the history: a function-ARN resource records them bare in LambdaFunctionSucceeded.
  it('invokes every function by its ARN (payloadResponseOnly), so the history holds the results bare', () => {
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    for (const [name, task] of tasks) {
      expect(task.Resource, name).toMatch(/^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+$/);
    }
  });

  it('invokes the functions directly, with the execution id and a timeout beyond the function’s', () => {
    expect(state('Plan')).toMatchObject({
      Resource: expect.stringMatching(/^arn:aws:lambda:/),
      ResultPath: '$.plan',
      Parameters: {
        'input.$': '$$.Execution.Input',
        'executionArn.$': '$$.Execution.Id',
        'stateMachineArn.$': '$$.StateMachine.Id',
      },
    });
    expect(state('CheckMigrate').TimeoutSeconds).toBe(690);
  });
});

describe('task phases', () => {
  it.each([
    ['PreDeploySteps', 'pre-deploy', '$.preDeploy', '$.error'],
    ['Migrate', 'migrate', '$.migrate', '$.error'],
    ['PostDeploySteps', 'post-deploy', '$.postDeploy', '$.postDeployError'],
  ])('%s: start, check until decided, stop the siblings on failure', (name, phase, path, errorPath) => {
    expect(state(name)).toMatchObject({
      Parameters: { phase, 'plan.$': '$.plan', 'executionArn.$': '$$.Execution.Id' },
      ResultPath: path,
      Next: `${name}?`,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: errorPath, Next: `Stop${name}AfterError` }],
    });
    expect(state(`Check${name}`)).toMatchObject({
      Parameters: { 'state.$': path },
      ResultPath: path,
      Next: `${name}?`,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: errorPath, Next: `Stop${name}AfterError` }],
    });
    const choice = state(`${name}?`);
    expect(choice.Default).toBeUndefined();
    expect(choice.Choices).toEqual([
      { Variable: `${path}.status`, StringEquals: 'RUNNING', Next: `Check${name}` },
      { Variable: `${path}.status`, StringEquals: 'FAILED', Next: `Stop${name}` },
      { Variable: `${path}.status`, StringEquals: 'SUCCEEDED', Next: expect.any(String) },
    ]);
    expect(state(`Stop${name}`)).toMatchObject({
      Parameters: { phase, 'plan.$': '$.plan', 'state.$': path },
      ResultPath: path,
      Next: 'Announce',
    });
    expect(state(`Stop${name}AfterError`)).toMatchObject({
      Parameters: { phase, 'plan.$': '$.plan', 'error.$': errorPath },
      ResultPath: path,
      Next: 'Announce',
    });
  });

  it('chains the phases: pre-deploy, migrate, then wave by wave deploy, retire old workers and bake; post-deploy, announce', () => {
    const succeeded = (name: string) =>
      state(`${name}?`).Choices?.find((c) => c.StringEquals === 'SUCCEEDED')?.Next;
    expect(state('Plan').Next).toBe('PreDeploySteps');
    expect(succeeded('PreDeploySteps')).toBe('Migrate');
    expect(succeeded('Migrate')).toBe('Deploy');
    expect(succeeded('Deploy')).toBe('RetireOldWorkers');
    expect(state('RetireOldWorkers').Next).toBe('Bake');
    expect(succeeded('Bake')).toBe('NextWave?');
    expect(state('NextWave?')).toMatchObject({
      Choices: [{ Variable: '$.bake.nextWave', IsPresent: true, Next: 'Deploy' }],
      Default: 'PostDeploySteps',
    });
    expect(succeeded('PostDeploySteps')).toBe('Announce');
  });
});

describe('error routes', () => {
  it('Plan errors go to Announce as the whole state, which any input, object or not, can take', () => {
    expect(state('Plan').Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Announce' }]);
  });

  it('a foreign deployment goes straight to Announce; any other deploy, cut-over or bake error rolls back', () => {
    expect(state('Deploy').Catch).toEqual([
      { ErrorEquals: ['ForeignDeploymentError'], ResultPath: '$.error', Next: 'Announce' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RollBack' },
    ]);
    for (const name of ['CheckDeploy', 'CutOver', 'Bake']) {
      expect(state(name).Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RollBack' },
      ]);
    }
    expect(state('Deploy?').Choices).toContainEqual({
      Variable: '$.deploy.status',
      StringEquals: 'READY',
      Next: 'CutOver',
    });
    expect(state('CutOver')).toMatchObject({ Parameters: { 'state.$': '$.deploy' }, Next: 'Deploy?' });
    expect(state('Bake')).toMatchObject({ Parameters: { 'state.$': '$.deploy' }, ResultPath: '$.bake' });
    expect(state('Bake?').Choices).toContainEqual({
      Variable: '$.bake.status',
      StringEquals: 'FAILED',
      Next: 'RollBack',
    });
    expect(state('Deploy?').Choices).toContainEqual({
      Variable: '$.deploy.status',
      StringEquals: 'FAILED',
      Next: 'RollBack',
    });
  });

  it('rolls back until every rollback is terminal, then announces', () => {
    expect(state('RollBack')).toMatchObject({
      Parameters: { 'state.$': '$' },
      ResultPath: '$.rollback',
      Next: 'RollBack?',
    });
    expect(state('AwaitRollbacks')).toMatchObject({
      Parameters: { 'state.$': '$.rollback' },
      Next: 'RollBack?',
    });
    expect(state('RollBack?').Choices).toEqual([
      { Variable: '$.rollback.status', StringEquals: 'RUNNING', Next: 'AwaitRollbacks' },
      // A rollback that did not get back: RollBack deploys the previous revision there.
      { Variable: '$.rollback.status', StringEquals: 'REDEPLOY', Next: 'RollBack' },
      {
        Or: [
          { Variable: '$.rollback.status', StringEquals: 'SUCCEEDED' },
          { Variable: '$.rollback.status', StringEquals: 'FAILED' },
        ],
        Next: 'Announce',
      },
    ]);
  });

  it('a failure to retire old workers is reported in $.retireError and the wave goes on to its bake', () => {
    expect(state('RetireOldWorkers').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.retireError', Next: 'Bake' },
    ]);
  });

  it('Announce decides: Succeed on SUCCEEDED, else Fail with the announced error and cause', () => {
    expect(state('Announce')).toMatchObject({
      Parameters: { 'state.$': '$', 'executionArn.$': '$$.Execution.Id', 'input.$': '$$.Execution.Input' },
      ResultPath: '$.announce',
      Next: 'Released?',
    });
    const released = state('Released?');
    const fail = state(String(released.Default));
    expect(released.Choices).toEqual([
      { Variable: '$.announce.outcome', StringEquals: 'SUCCEEDED', Next: 'Released' },
    ]);
    expect(state('Released').Type).toBe('Succeed');
    expect(fail).toEqual({ Type: 'Fail', ErrorPath: '$.announce.error', CausePath: '$.announce.cause' });
  });
});
