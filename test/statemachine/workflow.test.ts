import { DescribeAlarmHistoryCommand } from '@aws-sdk/client-cloudwatch';
import {
  ContinueDeploymentCommand,
  CreateDeploymentCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import { RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import type { Parameter } from '@aws-sdk/client-ssm';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import { handler as announce } from '../../lambdas/announce/handler.js';
import { handler as checkBake } from '../../lambdas/check-bake/handler.js';
import { handler as checkDeployments } from '../../lambdas/check-deployments/handler.js';
import { handler as checkRollbacks } from '../../lambdas/check-rollbacks/handler.js';
import { handler as checkTasks } from '../../lambdas/check-tasks/handler.js';
import { handler as cutOver } from '../../lambdas/cut-over/handler.js';
import { handler as plan } from '../../lambdas/plan/handler.js';
import { handler as retireOldWorkers } from '../../lambdas/retire-old-workers/handler.js';
import { handler as rollBack } from '../../lambdas/roll-back/handler.js';
import {
  assembleConfig,
  CONFIG_PATH_ENV,
  type DeployConfig,
  globalParameterName,
} from '../../lambdas/shared/config.js';
import type { LambdaContext } from '../../lambdas/shared/lambda-context.js';
import { handler as startDeployments } from '../../lambdas/start-deployments/handler.js';
import { handler as startTasks } from '../../lambdas/start-tasks/handler.js';
import { handler as stopTasks } from '../../lambdas/stop-tasks/handler.js';
import { engineDefinition } from '../../local/stepfunctions/engine-definition.js';
import {
  type AslDefinition,
  extractDefinition,
  renderTemplateValue,
  type Template,
  taskHandlers,
} from '../../statemachine/asl.js';
import type { Verb } from '../../statemachine/handlers.js';
import { FakeAws } from './fake-aws.js';

type Handler = (event: unknown, context?: LambdaContext) => Promise<unknown>;

const HANDLERS: Record<Exclude<Verb, 'cleanup'>, Handler> = {
  plan,
  'start-tasks': startTasks,
  'check-tasks': checkTasks,
  'stop-tasks': stopTasks,
  'start-deployments': startDeployments,
  'check-deployments': checkDeployments,
  'cut-over': cutOver,
  'check-bake': checkBake,
  'roll-back': rollBack,
  'check-rollbacks': checkRollbacks,
  'retire-old-workers': retireOldWorkers,
  announce,
};

/**
 * A Lambda context with no time left to watch: every check looks once and returns,
 * so the state machine's own Choice loop does the polling, and no test sleeps.
 */
const LOOK_ONCE: LambdaContext = { getRemainingTimeInMillis: () => 30_000 };

type JsonValue = Parameters<StateMachine['run']>[0];
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

let definition: AslDefinition;
let verbs: Record<string, Verb>;
let stateMachineArn: string;
let fake: FakeAws;
/** The configuration parameters of the template, as CloudFormation would write them. */
let parameters: Parameter[];
let config: DeployConfig;

/** Resolves the references of the template's strings to the names CloudFormation would give. */
function resolver(template: Template) {
  return (logicalId: string, attribute: string | undefined): string => {
    const properties = (template.Resources?.[logicalId]?.Properties ?? {}) as Record<string, unknown>;
    const named = [
      'ClusterName',
      'ServiceName',
      'ApplicationName',
      'DeploymentGroupName',
      'Name',
      'Family',
      'AlarmName',
    ].find((key) => typeof properties[key] === 'string');
    if (attribute === 'Arn' || !named) return `${logicalId}${attribute ? `.${attribute}` : ''}`;
    return String(properties[named]);
  };
}

beforeAll(() => {
  const template = synthesizeSampleTemplate() as Template;
  definition = extractDefinition(template);
  verbs = taskHandlers(template);
  const fn = Object.values(template.Resources ?? {}).find(
    (resource) => resource.Type === 'AWS::Lambda::Function',
  );
  const variables =
    (fn?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
  const path = String(variables[CONFIG_PATH_ENV]);
  process.env[CONFIG_PATH_ENV] = path;
  process.env.AWS_REGION ??= 'us-east-1';
  // The waves bake in real time here: no bake time, the alarms still watched.
  const global = globalParameterName(path);
  parameters = Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === 'AWS::SSM::Parameter')
    .map(([logicalId, resource]) => {
      const value = renderTemplateValue(resource.Properties?.Value, resolver(template), logicalId);
      const name = String(resource.Properties?.Name);
      return {
        Name: name,
        Type: 'String',
        Value: name === global ? JSON.stringify({ ...JSON.parse(value), bakeSeconds: 0 }) : value,
      };
    });
  config = assembleConfig(path, parameters);
  const name = String(
    Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')
      ?.Properties?.StateMachineName,
  );
  stateMachineArn = `arn:aws:states:us-east-1:000000000000:stateMachine:${name}`;
});

afterEach(() => fake?.restore());

interface RunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  states: string[];
}

/** Runs the synthesized definition on `input`, every Lambda task dispatched to its real handler. */
async function run(input: JsonValue, prepare: (aws: FakeAws) => void = () => {}): Promise<RunResult> {
  fake = new FakeAws(config, parameters);
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:run-${Math.random().toString(36).slice(2)}`;
  fake.execution = {
    executionArn,
    name: executionArn.split(':').pop(),
    stateMachineArn,
    status: 'RUNNING',
    startDate: new Date(),
  };
  prepare(fake);

  const localHandlers = Object.fromEntries(
    Object.entries(verbs).map(([state, verb]) => [
      state,
      async (event: JsonValue) =>
        (await HANDLERS[verb as Exclude<Verb, 'cleanup'>](event, LOOK_ONCE)) as JsonValue,
    ]),
  );
  // As the local AWS runs it: aws-local-stepfunctions reads `ResultPath: "$"` otherwise than AWS.
  const machine = new StateMachine(
    engineDefinition(definition as ConstructorParameters<typeof StateMachine>[0]),
  );
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: localHandlers },
    context: {
      Execution: {
        Id: executionArn,
        Input: input,
        Name: fake.execution.name,
        StartTime: new Date().toISOString(),
      },
      StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').pop() },
    },
  });
  const events: EventLog[] = [];
  const collected = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  let result: RunResult;
  try {
    const output = (await execution.result) as Record<string, unknown>;
    result = { status: 'SUCCEEDED', output, states: [] };
  } catch {
    result = { status: 'FAILED', states: [] };
  }
  await collected;
  for (const event of events) {
    if (event.type === 'StateEntered') result.states.push(event.state.name);
    if (event.type === 'ExecutionFailed') {
      result.error = event.Error;
      result.cause = String(event.Cause);
    }
  }
  return result;
}

const RELEASE = { release: '2026-11-26.3', images: { app: 'registry.example/stepdeploy-demo/app:3f2c1d0' } };

const detailTypes = () => fake.announced.map((entry) => entry.DetailType);
const runTaskSteps = () =>
  fake.ecs.commandCalls(RunTaskCommand).map((call) => {
    const tags = call.args[0].input.tags ?? [];
    return `${tags.find((t) => t.key === 'stepdeploy:environment')?.value}/${tags.find((t) => t.key === 'stepdeploy:step')?.value}`;
  });

describe('a release run through the synthesized state machine', () => {
  it('succeeds: steps, migrations, one deployment per service, old workers retired, announced', async () => {
    const result = await run(RELEASE);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(
      expect.arrayContaining([
        'Plan',
        'PreDeploySteps',
        'Migrate',
        'Deploy',
        'CutOver',
        'Bake',
        'NextWave?',
        'RetireOldWorkers',
        'PostDeploySteps',
        'Announce',
        'Released',
      ]),
    );
    expect(result.states).not.toContain('RollBack');
    // The canary wave, us, then eu and au: each wave deployed, its old workers retired, baked, then the next.
    const waveStates = result.states.filter((state) =>
      ['Deploy', 'CutOver', 'Bake', 'RetireOldWorkers'].includes(state),
    );
    expect(waveStates.filter((state, i) => state !== waveStates[i - 1])).toEqual([
      'Deploy',
      'RetireOldWorkers',
      'Bake',
      'Deploy',
      'CutOver',
      'RetireOldWorkers',
      'Bake',
    ]);
    expect(
      fake.codedeploy.commandCalls(CreateDeploymentCommand).map((call) => call.args[0].input.description),
    ).toEqual(
      ['us/web', 'us/worker', 'eu/web', 'eu/worker', 'au/web', 'au/worker'].map(
        (group) => `stepdeploy:2026-11-26.3:${group}`,
      ),
    );
    // eu and au cut over together: every one of their deployments continued from Ready, in one CutOver.
    const readyWaits = fake.codedeploy
      .commandCalls(ContinueDeploymentCommand)
      .filter((call) => call.args[0].input.deploymentWaitType === 'READY_WAIT');
    expect(readyWaits).toHaveLength(4);
    expect(result.states.filter((state) => state === 'CutOver')).toHaveLength(1);
    expect([...new Set(runTaskSteps())].sort()).toEqual(
      ['au', 'eu', 'us'].flatMap((env) => [`${env}/assets`, `${env}/migrate`, `${env}/tag-release`]).sort(),
    );
    expect(fake.codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(6);
    expect(result.output?.retire).toEqual({
      workers: ['us', 'eu', 'au'].map((environment) => ({
        environment,
        service: 'worker',
        deploymentId: expect.any(String),
        action: 'continue-deployment',
        reason: 'traffic moved; the termination wait was ended',
      })),
    });
    expect(result.output?.announce).toMatchObject({ outcome: 'SUCCEEDED', detailType: 'Release Succeeded' });
    expect(detailTypes()).toEqual(['Release Succeeded']);
  });

  it('stops the other migrations and deploys nothing when one of three fails', async () => {
    const result = await run(RELEASE, (aws) => {
      aws.taskScript = (env, step) =>
        step === 'migrate'
          ? env === 'eu'
            ? { exitCode: 1, afterLooks: 1 }
            : { exitCode: 0, afterLooks: 3 }
          : { exitCode: 0 };
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TaskFailedError');
    expect(result.cause).toContain('eu/migrate: exit code 1');
    expect(result.states).toContain('StopMigrate');
    const stopped = fake.stoppedTasks.map((arn) => {
      const task = fake.tasks.get(arn);
      return `${task?.environment}/${task?.step}`;
    });
    expect(stopped.sort()).toEqual(['au/migrate', 'us/migrate']);
    expect(fake.codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    expect(detailTypes()).toEqual(['Release Failed']);
  });

  it('fails without migrating when a pre-deploy task fails to start, stopping the ones that started', async () => {
    const result = await run(RELEASE, (aws) => {
      aws.taskScript = (env, step) =>
        env === 'au' && step === 'assets' ? { failToStart: 'RESOURCE:ENI' } : { exitCode: 0 };
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TaskFailedError');
    expect(result.cause).toContain('au/assets');
    expect(result.cause).toContain('RESOURCE:ENI');
    expect(result.states).toContain('StopPreDeployStepsAfterError');
    expect(runTaskSteps().some((step) => step.endsWith('/migrate'))).toBe(false);
    expect(fake.stoppedTasks).toHaveLength(2);
    expect(fake.codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('rolls every deployment back when one of the second wave fails before its cut-over: no traffic moved there, the canary rolled back', async () => {
    const result = await run(RELEASE, (aws) => {
      aws.deploymentScript = (env, service) => {
        if (env === 'us' && service === 'web') return { outcome: 'succeed', afterLooks: 1 };
        if (env === 'eu' && service === 'web') return { outcome: 'fail', afterLooks: 3 };
        return { outcome: 'succeed', afterLooks: 2 };
      };
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentFailedError');
    expect(result.states).toEqual(expect.arrayContaining(['RollBack', 'AwaitRollbacks']));
    expect(result.states).not.toContain('CutOver');
    // Only the canary's old workers were retired; nothing of the second wave was continued.
    expect(result.states.filter((state) => state === 'RetireOldWorkers')).toHaveLength(1);
    expect(
      fake.codedeploy
        .commandCalls(ContinueDeploymentCommand)
        .map((call) => call.args[0].input.deploymentWaitType),
    ).not.toContain('READY_WAIT');
    const waiting = [...fake.deployments.values()].filter((d) =>
      ['eu/worker', 'au/web', 'au/worker'].some((group) => d.info.description?.endsWith(group)),
    );
    expect(waiting.map((d) => d.info.instanceTerminationWaitTimeStarted ?? false)).toEqual([
      false,
      false,
      false,
    ]);
    // us/web (in its termination wait) and the second wave's three in flight are stopped; us/worker,
    // whose old workers were retired (its deployment succeeded), gets its previous revision again.
    const stoppedIds = fake.codedeploy.commandCalls(StopDeploymentCommand).map((call) => call.args[0].input);
    expect(stoppedIds).toHaveLength(4);
    expect(stoppedIds.every((input) => input.autoRollbackEnabled)).toBe(true);
    expect(
      fake.codedeploy
        .commandCalls(CreateDeploymentCommand)
        .map((call) => call.args[0].input.description)
        .filter((description) => description?.endsWith(':rollback')),
    ).toEqual(['stepdeploy:2026-11-26.3:us/worker:rollback']);
    const usWeb = [...fake.deployments.values()].find(
      (d) => d.info.description === 'stepdeploy:2026-11-26.3:us/web',
    );
    expect(usWeb?.info.status).toBe('Stopped');
    expect(result.cause).toContain('eu/web');
    expect(detailTypes()).toEqual(['Release Rolled Back']);
  });

  it("deploys the previous revision where CodeDeploy's rollback failed, then reports the release rolled back", async () => {
    const result = await run(RELEASE, (aws) => {
      aws.deploymentScript = (env, service) =>
        env === 'us' && service === 'web'
          ? { outcome: 'fail', afterLooks: 2 }
          : { outcome: 'succeed', afterLooks: 1 };
      aws.failingRollbacks.add('us/web');
    });

    expect(result.states.filter((state) => state === 'RollBack')).toHaveLength(2);
    expect(
      fake.codedeploy
        .commandCalls(CreateDeploymentCommand)
        .map((call) => call.args[0].input.description)
        .filter((description) => description?.endsWith(':rollback')),
    ).toContain('stepdeploy:2026-11-26.3:us/web:rollback');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentFailedError');
    expect(detailTypes()).toEqual(['Release Rolled Back']);
  });

  it('succeeds and reports a failed post-deploy step, without rolling back', async () => {
    const result = await run(RELEASE, (aws) => {
      aws.taskScript = (env, step) =>
        env === 'us' && step === 'tag-release' ? { exitCode: 2 } : { exitCode: 0 };
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toContain('StopPostDeploySteps');
    expect(result.states).not.toContain('RollBack');
    expect(result.output?.postDeploy).toMatchObject({
      status: 'FAILED',
      failures: [expect.objectContaining({ environment: 'us', step: 'tag-release', exitCode: 2 })],
    });
    expect(result.output?.announce).toMatchObject({ outcome: 'SUCCEEDED' });
    expect((result.output?.announce as { summary?: string } | undefined)?.summary).toContain(
      'us/tag-release',
    );
    expect(fake.codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(0);
  });

  it('refuses to start while another release runs, naming it', async () => {
    const result = await run(RELEASE, (aws) => {
      aws.otherExecutions.push({
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:earlier-release`,
        name: 'earlier-release',
        stateMachineArn,
        status: 'RUNNING',
        startDate: new Date(Date.now() - 60_000),
      });
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployInProgressError');
    expect(result.cause).toContain('earlier-release');
    expect(result.states).not.toContain('PreDeploySteps');
    expect(fake.ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(detailTypes()).toEqual(['Release Failed']);
  });

  it("ends the previous release's termination wait and releases, recording it in the plan", async () => {
    let previous = '';
    const result = await run(RELEASE, (aws) => {
      previous = aws.addForeignDeployment('eu', 'web', {
        status: 'InProgress',
        instanceTerminationWaitTimeStarted: true,
        description: 'stepdeploy:2026-11-25.1:eu/web',
      });
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(fake.codedeploy.commandCalls(ContinueDeploymentCommand)[0]?.args[0].input).toEqual({
      deploymentId: previous,
      deploymentWaitType: 'TERMINATION_WAIT',
    });
    expect((result.output?.plan as { endedWaits?: unknown } | undefined)?.endedWaits).toEqual([
      { release: '2026-11-25.1', deployments: { eu: { web: previous } } },
    ]);
    expect(detailTypes()).toEqual(['Release Succeeded']);
  });

  it('refuses before any task starts while a deployment made by hand is in its termination wait', async () => {
    let foreign = '';
    const result = await run(RELEASE, (aws) => {
      foreign = aws.addForeignDeployment('eu', 'web', {
        status: 'InProgress',
        instanceTerminationWaitTimeStarted: true,
        description: 'a hotfix, deployed by hand',
      });
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ForeignDeploymentError');
    expect(result.cause).toContain(`${foreign} in its termination wait`);
    expect(result.cause).toContain(
      `aws deploy continue-deployment --deployment-id ${foreign} --deployment-wait-type TERMINATION_WAIT`,
    );
    expect(result.states).toEqual(['Plan', 'Announce', 'Released?', 'NotReleased']);
    expect(result.output).toBeUndefined();
    expect(fake.ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(fake.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(fake.codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
    expect(fake.codedeploy.commandCalls(ContinueDeploymentCommand)).toHaveLength(0);
    expect(detailTypes()).toEqual(['Release Failed']);
    expect(JSON.parse(fake.announced[0].Detail ?? '{}')).toMatchObject({
      outcome: 'FAILED',
      error: 'ForeignDeploymentError',
    });
  });

  it('rejects bad input before anything starts, naming the field', async () => {
    const result = await run({ release: 'not a release!', images: {} });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ValidationError');
    expect(result.cause).toContain('release');
    expect(fake.ecs.calls()).toHaveLength(0);
    expect(fake.codedeploy.calls()).toHaveLength(0);
  });

  it('fails the canary wave when its alarm went into ALARM during the bake, rolls it back and deploys no further', async () => {
    const result = await run(RELEASE, (aws) => {
      // The alarm fires (and returns to OK) once us moved its traffic: only its history shows it.
      let fired = false;
      aws.cloudwatch.on(DescribeAlarmHistoryCommand).callsFake((input) => {
        if (!fired && aws.codedeploy.commandCalls(CreateDeploymentCommand).length > 0) {
          fired = true;
          aws.fireAlarm('stepdeploy-demo-us-5xx');
        }
        return {
          AlarmHistoryItems: (aws.alarmHistory.get(String(input.AlarmName)) ?? []).filter(
            (item) => !input.StartDate || (item.Timestamp ?? new Date(0)) >= input.StartDate,
          ),
        };
      });
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentFailedError');
    expect(result.cause).toContain('us: alarm stepdeploy-demo-us-5xx in ALARM');
    expect(
      fake.codedeploy.commandCalls(CreateDeploymentCommand).map((call) => call.args[0].input.description),
    ).toEqual(['stepdeploy:2026-11-26.3:us/web', 'stepdeploy:2026-11-26.3:us/worker']);
    expect(fake.codedeploy.commandCalls(StopDeploymentCommand)).toHaveLength(2);
    expect(detailTypes()).toEqual(['Release Rolled Back']);
  });

  it('continues none of the second wave when one of its deployments stopped in its ready wait', async () => {
    const result = await run(RELEASE, (aws) => {
      // au/worker's ready wait runs out while the others of its wave are still installing.
      aws.deploymentScript = (env, service) =>
        env === 'au' && service === 'worker'
          ? { outcome: 'expire', afterLooks: 1 }
          : { outcome: 'succeed', afterLooks: env === 'us' ? 1 : 6 };
    });

    expect(result.status).toBe('FAILED');
    expect(result.cause).toContain('au/worker');
    expect(
      fake.codedeploy
        .commandCalls(ContinueDeploymentCommand)
        .filter((call) => call.args[0].input.deploymentWaitType === 'READY_WAIT'),
    ).toHaveLength(0);
    expect(detailTypes()).toEqual(['Release Rolled Back']);
  });
});
