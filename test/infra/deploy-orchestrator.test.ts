import { type ParameterTier, type ParameterType, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Duration, Lazy } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeployOrchestrator,
  type DeployOrchestratorProps,
  estimatedJsonBytes,
  HANDLER_METADATA_KEY,
  type OrchestratorEnvironment,
} from '../../infra/deploy-orchestrator.js';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import { assembleConfig, CONFIG_PATH_ENV, type EnvironmentConfig } from '../../lambdas/shared/config.js';
import { renderTemplateValue } from '../../statemachine/asl.js';
import { VERBS } from '../../statemachine/handlers.js';
import { clientConfig, startLocal } from '../local/local-aws-fixture.js';
import { ec2OneOff, testEnvironment, testStack } from './fixtures.js';

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
>;

let json: Record<string, unknown>;
let template: Template;
let resources: Resources;

/** The logical id of the function whose metadata names `verb`. */
function functionId(verb: string): string {
  const entry = Object.entries(resources).find(
    ([, resource]) =>
      resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.[HANDLER_METADATA_KEY] === verb,
  );
  if (!entry) throw new Error(`no function for ${verb}`);
  return entry[0];
}

/** The logical id of the role a function runs as. */
function roleOf(verb: string): string {
  const role = resources[functionId(verb)].Properties.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/** Every statement of the policies attached to a function's role. */
function statementsOf(verb: string): Array<Record<string, unknown>> {
  const role = roleOf(verb);
  return Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        (resource.Properties.Roles as Array<{ Ref: string }>).some((ref) => ref.Ref === role),
    )
    .flatMap(
      (policy) =>
        (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
    );
}

function actionsOf(statement: Record<string, unknown>): string[] {
  return [statement.Action as string | string[]].flat();
}

beforeAll(() => {
  json = synthesizeSampleTemplate();
  template = Template.fromJSON(json);
  resources = json.Resources as Resources;
});

describe('handler functions', () => {
  it('has one Node 22 arm64 function per verb, each tagged with its verb in the metadata', () => {
    for (const verb of VERBS) {
      expect(resources[functionId(verb)].Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
    }
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs22.x' }, VERBS.length);
  });

  it('hands every function the path of the configuration, which the handlers accept from Parameter Store', () => {
    const variables = VERBS.map(
      (verb) =>
        (resources[functionId(verb)].Properties.Environment as { Variables: Record<string, unknown> })
          .Variables,
    );
    for (const vars of variables) expect(Object.keys(vars).sort()).toEqual(['NODE_OPTIONS', CONFIG_PATH_ENV]);
    const paths = new Set(variables.map((vars) => vars[CONFIG_PATH_ENV]));
    expect([...paths]).toEqual([expect.stringMatching(/^\/stepdeploy\/StepdeploySample-Deploy-[A-F0-9]+$/)]);
    const path = String([...paths][0]);
    const parameters = Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::SSM::Parameter')
      .map(([id, resource]) => ({
        Name: String(resource.Properties.Name),
        Value: renderTemplateValue(resource.Properties.Value, (ref) => `resolved-${ref}`, id),
      }));
    expect(parameters.map((parameter) => parameter.Name)).toEqual([
      `${path}/global`,
      `${path}/environments/us`,
      `${path}/environments/eu`,
      `${path}/environments/au`,
    ]);
    template.resourcePropertiesCountIs(
      'AWS::SSM::Parameter',
      { Type: 'String', Tier: 'Intelligent-Tiering' },
      4,
    );
    const config = assembleConfig(path, parameters);
    expect(config.environments.map((env) => env.name)).toEqual(['us', 'eu', 'au']);
    expect(config.environments[0]).toMatchObject({
      region: 'us-east-1',
      launchType: 'FARGATE',
      taskDefinition: 'stepdeploy-demo-us-oneoff',
      migration: { container: 'app', command: ['node', 'examples/demo/app/migrate.mjs'] },
      services: [
        { name: 'web', role: 'web', container: 'app', containerPort: 3000 },
        { name: 'worker', role: 'worker', container: 'app', containerPort: 4000 },
      ],
    });
    expect(config.preDeploySteps.map((step) => step.name)).toEqual(['assets']);
    expect(config.postDeploySteps.map((step) => step.name)).toEqual(['tag-release']);
    expect(config).toMatchObject({
      pollSeconds: 5,
      watchSeconds: 600,
      deploymentTimeoutSeconds: 7200,
      eventBusName: 'default',
      onPreviousTerminationWait: 'continue',
    });
  });

  it('gives the checks their watch plus 60 s and keeps every function within Lambda limits', () => {
    for (const verb of ['check-tasks', 'check-deployments', 'check-rollbacks']) {
      expect(resources[functionId(verb)].Properties.Timeout).toBe(660);
    }
    for (const verb of VERBS) expect(resources[functionId(verb)].Properties.Timeout).toBeLessThanOrEqual(900);
  });
});

describe('handler logs', () => {
  /** The log group resource a function's LoggingConfig names, from a template's resources. */
  const logGroupOf = (all: Resources, functionLogicalId: string) => {
    const config = all[functionLogicalId].Properties.LoggingConfig as { LogGroup: { Ref: string } };
    return all[config.LogGroup.Ref];
  };

  it('logs every function in JSON at INFO to its own group, named after the state machine and the verb', () => {
    const stateMachineName = String(
      Object.values(resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')
        ?.Properties.StateMachineName,
    );
    const groups = new Set<string>();
    for (const verb of VERBS) {
      const id = functionId(verb);
      expect(resources[id].Properties.LoggingConfig).toMatchObject({
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'INFO',
      });
      const group = logGroupOf(resources, id);
      expect(group.Properties.LogGroupName).toBe(`/stepdeploy/${stateMachineName}/${verb}`);
      groups.add(String(group.Properties.LogGroupName));
    }
    expect(groups.size).toBe(VERBS.length);
  });

  it.each([
    [lambda.ApplicationLogLevel.DEBUG, 'DEBUG'],
    [lambda.ApplicationLogLevel.TRACE, 'DEBUG'],
    [lambda.ApplicationLogLevel.WARN, 'WARN'],
    [lambda.ApplicationLogLevel.ERROR, 'WARN'],
  ])('sets the application log level %s and the system log level %s from logLevel', (level, system) => {
    const stack = testStack();
    new DeployOrchestrator(stack, 'Deploy', {
      environments: [testEnvironment(stack, 'us')],
      logLevel: level,
    });
    const built = Template.fromStack(stack);
    built.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        LoggingConfig: Match.objectLike({
          LogFormat: 'JSON',
          ApplicationLogLevel: level,
          SystemLogLevel: system,
        }),
      },
      VERBS.length,
    );
  });

  it("keeps the handlers' and the state machine's logs for logRetention", () => {
    const stack = testStack();
    new DeployOrchestrator(stack, 'Deploy', {
      environments: [testEnvironment(stack, 'us')],
      logRetention: logs.RetentionDays.TWO_WEEKS,
    });
    const all = Template.fromStack(stack).toJSON().Resources as Resources;
    const functions = Object.keys(all).filter((id) => all[id].Metadata?.[HANDLER_METADATA_KEY] !== undefined);
    expect(functions).toHaveLength(VERBS.length);
    for (const id of functions) expect(logGroupOf(all, id).Properties.RetentionInDays).toBe(14);
    const stateMachine = Object.values(all).find(
      (resource) => resource.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (!stateMachine) throw new Error('no state machine');
    const destination = (
      stateMachine.Properties.LoggingConfiguration as {
        Destinations: Array<{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }>;
      }
    ).Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(all[destination].Properties.RetentionInDays).toBe(14);
  });

  it('keeps them three months by default', () => {
    for (const verb of VERBS)
      expect(logGroupOf(resources, functionId(verb)).Properties.RetentionInDays).toBe(90);
  });
});

describe('least-privilege IAM', () => {
  it('lets every function read its own configuration path and nothing else of Parameter Store', () => {
    const path = String(
      (resources[functionId('plan')].Properties.Environment as { Variables: Record<string, unknown> })
        .Variables[CONFIG_PATH_ENV],
    );
    const arn = (suffix: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ssm:us-east-1:000000000000:parameter${suffix}`]],
    });
    for (const verb of VERBS) {
      const ssmStatements = statementsOf(verb).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('ssm:')),
      );
      expect(ssmStatements).toEqual([
        {
          Action: 'ssm:GetParametersByPath',
          Effect: 'Allow',
          Resource: [arn(path), arn(`${path}/*`)],
        },
      ]);
    }
  });

  it('lets StartTasks run only the one-off task definition families, in the configured clusters', () => {
    const runTask = statementsOf('start-tasks').filter((statement) =>
      actionsOf(statement).includes('ecs:RunTask'),
    );
    expect(runTask).toHaveLength(1);
    const resourcesJson = JSON.stringify(runTask[0].Resource);
    for (const env of ['us', 'eu', 'au'])
      expect(resourcesJson).toContain(`task-definition/stepdeploy-demo-${env}-oneoff:*`);
    expect(resourcesJson).not.toContain('-web:');
    expect(runTask[0].Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.any(Array) } });
    expect(
      (runTask[0].Condition as { ArnEquals: { 'ecs:cluster': unknown[] } }).ArnEquals['ecs:cluster'],
    ).toHaveLength(3);
  });

  it('passes only the task and execution roles of the one-off task definitions, to ECS tasks only', () => {
    const taskRole = Object.keys(resources).find((id) => /^UsOneOffTaskTaskRole/.test(id));
    const executionRole = Object.keys(resources).find((id) =>
      /^UsOneOffTaskExecutionRole[0-9A-F]+$/.test(id),
    );
    const webRole = Object.keys(resources).find((id) => /^UsWebTaskTaskRole/.test(id));
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleOf('start-tasks') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'iam:PassRole',
            Effect: 'Allow',
            Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
            Resource: Match.arrayWith([
              { 'Fn::GetAtt': [taskRole, 'Arn'] },
              { 'Fn::GetAtt': [executionRole, 'Arn'] },
            ]),
          },
        ]),
      },
    });
    const passRole = statementsOf('start-tasks').find((statement) =>
      actionsOf(statement).includes('iam:PassRole'),
    );
    expect(JSON.stringify(passRole?.Resource)).not.toContain(webRole);
  });

  it('never allows iam:PassRole on every role', () => {
    for (const verb of VERBS) {
      for (const statement of statementsOf(verb)) {
        if (actionsOf(statement).includes('iam:PassRole')) expect(statement.Resource).not.toBe('*');
      }
    }
  });

  it('conditions task actions on the configured clusters', () => {
    for (const verb of ['start-tasks', 'check-tasks', 'stop-tasks', 'cleanup']) {
      const taskStatements = statementsOf(verb).filter((statement) =>
        actionsOf(statement).some((action) =>
          ['ecs:StopTask', 'ecs:DescribeTasks', 'ecs:ListTasks'].includes(action),
        ),
      );
      expect(taskStatements.length).toBeGreaterThan(0);
      for (const statement of taskStatements)
        expect(statement.Condition).toHaveProperty(['ArnEquals', 'ecs:cluster']);
    }
  });

  it('allows tagging only on create, and only with the create call the function makes', () => {
    const tagging = (verb: string) =>
      statementsOf(verb).filter((statement) => actionsOf(statement).includes('ecs:TagResource'));
    expect(tagging('start-tasks')).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      }),
    ]);
    expect(tagging('plan')).toEqual([
      expect.objectContaining({
        Condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      }),
    ]);
    expect(tagging('check-tasks')).toEqual([]);
  });

  it('scopes CodeDeploy actions to the named deployment groups', () => {
    const create = statementsOf('start-deployments').find((statement) =>
      actionsOf(statement).includes('codedeploy:CreateDeployment'),
    );
    const groups = Object.keys(resources).filter(
      (id) => resources[id].Type === 'AWS::CodeDeploy::DeploymentGroup',
    );
    expect(groups).toHaveLength(6);
    expect(create?.Resource).toHaveLength(6);
    const scoped = JSON.stringify(create?.Resource);
    expect(scoped).toContain(':deploymentgroup:');
    for (const group of groups) expect(scoped).toContain(`{"Ref":"${group}"}`);
    for (const verb of ['check-tasks', 'announce']) {
      expect(
        statementsOf(verb)
          .flatMap(actionsOf)
          .some((action) => action.startsWith('codedeploy:')),
      ).toBe(false);
    }
  });

  it('lets Plan read the deployments of the named deployment groups only, and change nothing but a termination wait', () => {
    const groups = Object.keys(resources).filter(
      (id) => resources[id].Type === 'AWS::CodeDeploy::DeploymentGroup',
    );
    const codedeployStatements = statementsOf('plan').filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('codedeploy:')),
    );
    expect(codedeployStatements).toHaveLength(3);
    const [find, targets, resume] = codedeployStatements;
    // It ends an earlier release's termination wait; ContinueDeployment names no resource type.
    expect(actionsOf(resume)).toEqual(['codedeploy:ContinueDeployment']);
    expect(resume.Resource).toBe('*');
    // ListDeploymentTargets and BatchGetDeploymentTargets name no resource type in the Service
    // Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html).
    expect(actionsOf(targets).sort()).toEqual([
      'codedeploy:BatchGetDeploymentTargets',
      'codedeploy:ListDeploymentTargets',
    ]);
    expect(targets.Resource).toBe('*');
    expect(actionsOf(find).sort()).toEqual(['codedeploy:BatchGetDeployments', 'codedeploy:ListDeployments']);
    expect(find.Resource).toHaveLength(groups.length);
    const scoped = JSON.stringify(find.Resource);
    expect(scoped).toContain(':deploymentgroup:');
    expect(scoped).not.toContain('*');
    for (const group of groups) expect(scoped).toContain(`{"Ref":"${group}"}`);
  });

  it('retires workers through CodeDeploy only: no ECS task action, ContinueDeployment on any deployment', () => {
    const statements = statementsOf('retire-old-workers');
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('ecs:'))).toEqual([]);
    const resume = statements.find((statement) =>
      actionsOf(statement).includes('codedeploy:ContinueDeployment'),
    );
    expect(resume?.Resource).toBe('*');
  });

  it('grants GetDeploymentConfig on every deployment configuration of the account in the groups’ Regions', () => {
    const statement = statementsOf('start-deployments').find((s) =>
      actionsOf(s).includes('codedeploy:GetDeploymentConfig'),
    );
    expect(JSON.stringify(statement?.Resource)).toMatch(/:deploymentconfig:\*/);
  });

  it('lets Plan list only this state machine’s executions and Announce put events on the bus', () => {
    const list = statementsOf('plan').find((statement) =>
      actionsOf(statement).includes('states:ListExecutions'),
    );
    expect(JSON.stringify(list?.Resource)).toMatch(/stateMachine:StepdeploySample-Deploy-/);
    const put = statementsOf('announce').find((statement) =>
      actionsOf(statement).includes('events:PutEvents'),
    );
    expect(JSON.stringify(put?.Resource)).toContain('event-bus/default');
    const describe = statementsOf('cleanup').find((statement) =>
      actionsOf(statement).includes('states:GetExecutionHistory'),
    );
    expect(JSON.stringify(describe?.Resource)).toMatch(/execution:StepdeploySample-Deploy-[^:]+:\*/);
    // A rollback reads the succeeded executions of this state machine, and no other.
    const read = statementsOf('plan').find((statement) =>
      actionsOf(statement).includes('states:DescribeExecution'),
    );
    expect(actionsOf(read ?? {})).toEqual(['states:DescribeExecution']);
    expect(JSON.stringify(read?.Resource)).toMatch(/execution:StepdeploySample-Deploy-[^:]+:\*/);
  });
});

describe('state machine and cleanup rule', () => {
  it('is a Standard state machine logging everything, with the default 6 h timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    expect(
      String(
        renderTemplateValue(
          Object.values(resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')
            ?.Properties.DefinitionString,
          () => 'x',
        ),
      ),
    ).toContain('"TimeoutSeconds":21600');
  });

  it("retries Deploy while a group still finishes an earlier release's deployment, and nothing else more", () => {
    const definition = JSON.parse(
      String(
        renderTemplateValue(
          Object.values(resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')
            ?.Properties.DefinitionString,
          () => 'x',
        ),
      ),
    ) as { States: Record<string, { Retry?: Array<{ ErrorEquals: string[] }> }> };
    const retried = Object.entries(definition.States).flatMap(([name, state]) =>
      (state.Retry ?? []).flatMap((retry) =>
        retry.ErrorEquals.includes('PreviousDeploymentFinishingError') ? [{ name, retry }] : [],
      ),
    );
    expect(retried).toEqual([
      {
        name: 'Deploy',
        retry: {
          ErrorEquals: ['PreviousDeploymentFinishingError'],
          IntervalSeconds: 15,
          BackoffRate: 2,
          MaxAttempts: 4,
        },
      },
    ]);
  });

  it('sends this state machine’s aborted, timed-out and failed executions to the cleanup function', () => {
    const stateMachine = Object.keys(resources).find(
      (id) => resources[id].Type === 'AWS::StepFunctions::StateMachine',
    );
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: stateMachine }], status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('cleanup'), 'Arn'] } })],
    });
  });

  it('starts a release from the pipeline with the input file of the source artifact', () => {
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', {
      Stages: Match.arrayWith([
        Match.objectLike({
          Name: 'Release',
          Actions: [
            Match.objectLike({
              ActionTypeId: Match.objectLike({ Provider: 'StepFunctions' }),
              Configuration: Match.objectLike({ InputType: 'FilePath', Input: 'Release::release.json' }),
              InputArtifacts: [{ Name: 'Release' }],
            }),
          ],
        }),
      ]),
    });
  });
});

describe('props validation', () => {
  type Overrides = (stack: ReturnType<typeof testStack>) => Partial<DeployOrchestratorProps>;
  const build = (overrides: Overrides) => () => {
    const stack = testStack();
    const props = overrides(stack);
    new DeployOrchestrator(stack, 'Deploy', {
      ...props,
      environments: props.environments ?? [testEnvironment(stack, 'us')],
    });
  };

  it('accepts a minimal configuration', () => {
    expect(build(() => ({}))).not.toThrow();
  });

  it('writes onPreviousTerminationWait to the configuration, and refuses a value it does not know', () => {
    const stack = testStack();
    const refusing = new DeployOrchestrator(stack, 'Deploy', {
      environments: [testEnvironment(stack, 'us')],
      onPreviousTerminationWait: 'refuse',
    });
    expect(refusing.config.onPreviousTerminationWait).toBe('refuse');
    expect(
      build(() => ({
        onPreviousTerminationWait: 'skip' as unknown as DeployOrchestratorProps['onPreviousTerminationWait'],
      })),
    ).toThrow(/onPreviousTerminationWait is "skip"; use 'continue' or 'refuse'/);
  });

  it.each([
    ['no environments', () => ({ environments: [] }), /environments is empty/],
    [
      'duplicate environment names',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [testEnvironment(stack, 'us'), { ...testEnvironment(stack, 'eu'), name: 'us' }],
      }),
      /two environments are named 'us'/,
    ],
    [
      'a bad environment name',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [{ ...testEnvironment(stack, 'us'), name: 'us east' }],
      }),
      /environments\[0\]\.name is 'us east'/,
    ],
    [
      'an environment without services',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [testEnvironment(stack, 'us', { services: [] })],
      }),
      /environment 'us' has no services/,
    ],
    [
      'duplicate service names',
      (stack: ReturnType<typeof testStack>) => {
        const env = testEnvironment(stack, 'us');
        return { environments: [{ ...env, services: [env.services[0], env.services[0]] }] };
      },
      /environment 'us' has two services named 'web'/,
    ],
    [
      'a port out of range',
      (stack: ReturnType<typeof testStack>) => {
        const env = testEnvironment(stack, 'us');
        return { environments: [{ ...env, services: [{ ...env.services[0], containerPort: 70000 }] }] };
      },
      /'us\/web' has containerPort 70000; use 1-65535/,
    ],
    [
      'a container the task definition lacks',
      (stack: ReturnType<typeof testStack>) => {
        const env = testEnvironment(stack, 'us');
        return { environments: [{ ...env, services: [{ ...env.services[0], container: 'sidecar' }] }] };
      },
      /names container 'sidecar'/,
    ],
    [
      'no task definition for steps',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [testEnvironment(stack, 'us', { migration: undefined })],
      }),
      /neither a migration nor a oneOffTaskDefinition/,
    ],
    [
      'a watch too long for Lambda',
      () => ({ watchTimeout: Duration.minutes(15) }),
      /watchTimeout is 15 minutes/,
    ],
    [
      'a poll under a second',
      () => ({ pollInterval: Duration.millis(500) }),
      /pollInterval is 500 millis; use at least 1 second/,
    ],
    [
      'a deployment timeout shorter than a poll',
      () => ({ pollInterval: Duration.minutes(2), deploymentTimeout: Duration.minutes(1) }),
      /deploymentTimeout \(1 minute\) is shorter than pollInterval/,
    ],
    [
      'a deployment timeout not shorter than the run',
      () => ({ deploymentTimeout: Duration.hours(6) }),
      /deploymentTimeout \(6 hours\) is not shorter than timeout \(6 hours\)/,
    ],
    [
      'a watch shorter than a poll',
      () => ({ pollInterval: Duration.minutes(2), watchTimeout: Duration.minutes(1) }),
      /watchTimeout \(1 minute\) is shorter than pollInterval/,
    ],
    [
      'duplicate step names',
      () => ({
        preDeploySteps: [
          { name: 'assets', container: 'app', command: ['a'] },
          { name: 'assets', container: 'app', command: ['b'] },
        ],
      }),
      /preDeploySteps has two steps named 'assets'/,
    ],
    [
      'a step with an empty command',
      () => ({ postDeploySteps: [{ name: 'tag', container: 'app', command: [] }] }),
      /postDeploySteps\[0\] \('tag'\) has an empty command/,
    ],
    [
      // PutParameter refuses values wrapped in double braces, and the commands go to Parameter Store.
      'a step argument with {{...}} in it',
      () => ({
        preDeploySteps: [{ name: 'inspect', container: 'app', command: ['docker', '--format', '{{.Id}}'] }],
      }),
      /preDeploySteps\[0\] \('inspect'\) command has the argument '\{\{\.Id\}\}'; Parameter Store.*refuses values with '\{\{\.\.\.\}\}'/,
    ],
    [
      'a migration argument with {{...}} in it',
      (stack: ReturnType<typeof testStack>) => {
        const env = testEnvironment(stack, 'us');
        const migration = env.migration && { ...env.migration, command: ['migrate', '--to', '{{latest}}'] };
        return { environments: [{ ...env, migration }] };
      },
      /environment 'us' migration command has the argument '\{\{latest\}\}'/,
    ],
    [
      'a launch type together with a capacity provider strategy',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            launchType: ecs.LaunchType.FARGATE,
            capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
          }),
        ],
      }),
      /environment 'us' sets both launchType \(FARGATE\) and capacityProviderStrategy; RunTask takes one/,
    ],
    [
      'an empty capacity provider strategy',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [testEnvironment(stack, 'us', { capacityProviderStrategy: [] })],
      }),
      /capacityProviderStrategy of 0 providers; name 1-20/,
    ],
    [
      'a base on two capacity providers',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            capacityProviderStrategy: [
              { capacityProvider: 'FARGATE', base: 1, weight: 1 },
              { capacityProvider: 'FARGATE_SPOT', base: 1, weight: 1 },
            ],
          }),
        ],
      }),
      /gives a base to several providers/,
    ],
    [
      'a capacity provider named twice',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            capacityProviderStrategy: [
              { capacityProvider: 'FARGATE', weight: 1 },
              { capacityProvider: 'FARGATE', weight: 2 },
            ],
          }),
        ],
      }),
      /capacityProviderStrategy\[1\] names FARGATE a second time/,
    ],
    [
      'a weight out of range',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            capacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1001 }],
          }),
        ],
      }),
      /capacityProviderStrategy\[0\] has weight 1001; use an integer from 0 to 1000/,
    ],
    [
      'network settings for a task definition that is not awsvpc',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            launchType: ecs.LaunchType.EC2,
            migration: { taskDefinition: ec2OneOff(stack, 'us'), container: 'app', command: ['migrate'] },
          }),
        ],
      }),
      /sets network, but its one-off task definition .* uses the bridge network mode/,
    ],
    [
      'Fargate (the default launch type) for a task definition that is not awsvpc',
      (stack: ReturnType<typeof testStack>) => ({
        environments: [
          testEnvironment(stack, 'us', {
            network: undefined,
            migration: { taskDefinition: ec2OneOff(stack, 'us'), container: 'app', command: ['migrate'] },
          }),
        ],
      }),
      /launches one-off tasks on FARGATE \(the default\), which runs only the awsvpc network mode/,
    ],
  ])('rejects %s', (_case, overrides, message) => {
    expect(build(overrides)).toThrow(message);
  });

  it('keeps a configuration of many environments out of the functions, with no size warning', () => {
    const stack = testStack();
    const names = Array.from({ length: 14 }, (_, index) => `env${index}`);
    new DeployOrchestrator(stack, 'Deploy', {
      environments: names.map((name) => testEnvironment(stack, name)),
    });
    Annotations.fromStack(stack).hasNoWarning('/Test/Deploy', Match.anyValue());
    Template.fromStack(stack).resourceCountIs('AWS::SSM::Parameter', 15);
  });
});

describe('one-off task placement', () => {
  /** The configuration the construct writes for environment `us` of a stack of one environment. */
  function usConfig(
    overrides: (stack: ReturnType<typeof testStack>) => Partial<OrchestratorEnvironment>,
  ): EnvironmentConfig {
    const stack = testStack();
    new DeployOrchestrator(stack, 'Deploy', {
      environments: [testEnvironment(stack, 'us', overrides(stack))],
    });
    const json = Template.fromStack(stack).toJSON() as { Resources: Resources };
    const [id, parameter] = Object.entries(json.Resources).find(
      ([, resource]) =>
        resource.Type === 'AWS::SSM::Parameter' &&
        String(resource.Properties.Name).endsWith('/environments/us'),
    ) ?? ['', undefined];
    if (!parameter) throw new Error('no parameter for environment us');
    return JSON.parse(renderTemplateValue(parameter.Properties.Value, (ref) => `resolved-${ref}`, id));
  }

  it('writes the network of an awsvpc task definition and Fargate by default', () => {
    const config = usConfig(() => ({}));

    expect(config.network).toMatchObject({
      subnets: [expect.any(String), expect.any(String)],
      assignPublicIp: true,
    });
    expect(config.launchType).toBe('FARGATE');
    expect(config.capacityProviderStrategy).toBeUndefined();
  });

  it('writes no network for a bridge task definition, which RunTask takes none for', () => {
    const config = usConfig((stack) => ({
      launchType: ecs.LaunchType.EC2,
      network: undefined,
      migration: { taskDefinition: ec2OneOff(stack, 'us'), container: 'app', command: ['migrate'] },
    }));

    expect(config.network).toBeUndefined();
    expect(config.launchType).toBe('EC2');
  });

  it('writes the capacity provider strategy instead of a launch type', () => {
    const config = usConfig((stack) => ({
      network: undefined,
      migration: { taskDefinition: ec2OneOff(stack, 'us'), container: 'app', command: ['migrate'] },
      capacityProviderStrategy: [{ capacityProvider: 'asg-provider', weight: 1, base: 1 }],
    }));

    expect(config.launchType).toBeUndefined();
    expect(config.capacityProviderStrategy).toEqual([
      { capacityProvider: 'asg-provider', weight: 1, base: 1 },
    ]);
  });
});

describe('configuration size', () => {
  /** An environment with `count` services, each deployed by its own group. */
  function wideEnvironment(stack: ReturnType<typeof testStack>, name: string, count: number) {
    const env = testEnvironment(stack, name);
    const [web] = env.services;
    return {
      ...env,
      services: Array.from({ length: count }, (_, index) => ({ ...web, name: `service${index}` })),
    };
  }

  /** The parameters of a stack as CloudFormation writes them with PutParameter, tokens rendered. */
  function parameterWrites(stack: ReturnType<typeof testStack>) {
    const parameters = Template.fromStack(stack).findResources('AWS::SSM::Parameter');
    return Object.entries(parameters).map(([id, resource]) => ({
      Name: String(resource.Properties.Name),
      Value: renderTemplateValue(resource.Properties.Value, (ref) => `resolved-${ref}`, id),
      Type: resource.Properties.Type as ParameterType,
      Tier: resource.Properties.Tier as ParameterTier,
    }));
  }

  /** The orchestrator's parameter writes for one `wide` environment of `count` services. */
  function writesWith(count: number) {
    const stack = testStack();
    new DeployOrchestrator(stack, 'Deploy', { environments: [wideEnvironment(stack, 'wide', count)] });
    return parameterWrites(stack);
  }

  it('asks for Intelligent-Tiering whatever the size, so no update ever asks an Advanced parameter for Standard', () => {
    // Prepare
    const stack = testStack();

    // Act
    new DeployOrchestrator(stack, 'Deploy', {
      environments: [testEnvironment(stack, 'small'), wideEnvironment(stack, 'wide', 20)],
    });

    // Assess
    expect(parameterWrites(stack).map((write) => write.Tier)).toEqual([
      'Intelligent-Tiering',
      'Intelligent-Tiering',
      'Intelligent-Tiering',
    ]);
  });

  // An Advanced parameter cannot revert to Standard
  // (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html, Tier):
  // a stack update that shrinks an environment below 4 KB must not ask for Standard.
  it('survives a stack update that shrinks an environment below 4 KB, on the local Parameter Store', async () => {
    // Prepare: a configuration past 4 KB, then the same environment with fewer services.
    const { local } = await startLocal();
    const ssm = new SSMClient(clientConfig(local));
    try {
      const wide = writesWith(20);
      const shrunk = writesWith(2);
      const environment = (writes: typeof wide) => {
        const found = writes.find((write) => write.Name.endsWith('/environments/wide'));
        if (!found) throw new Error('no parameter for environment wide');
        return found;
      };
      expect(environment(wide).Value.length).toBeGreaterThan(4096);
      expect(environment(shrunk).Value.length).toBeLessThan(4096);

      // Act: create, then update, as CloudFormation does (PutParameter with Overwrite).
      const created = await ssm.send(new PutParameterCommand({ ...environment(wide), Overwrite: false }));
      const updated = await ssm.send(new PutParameterCommand({ ...environment(shrunk), Overwrite: true }));

      // Assess
      expect(created.Tier).toBe('Advanced');
      expect(updated).toEqual(expect.objectContaining({ Version: 2, Tier: 'Advanced' }));
    } finally {
      ssm.destroy();
      await local.stop();
    }
  });

  it('refuses an environment too large for any parameter, naming it, its size and the fix', () => {
    const stack = testStack();
    expect(
      () =>
        new DeployOrchestrator(stack, 'Deploy', {
          environments: [testEnvironment(stack, 'small'), wideEnvironment(stack, 'huge', 40)],
        }),
    ).toThrow(/environment 'huge' is about \d{4,} bytes .*holds 8192 at most\. Split it/);
  });

  it('refuses steps too large for the global parameter, naming the fix', () => {
    const stack = testStack();
    const step = { name: 'assets', container: 'app', command: ['sh', '-c', 'x'.repeat(9000)] };
    expect(
      () =>
        new DeployOrchestrator(stack, 'Deploy', {
          environments: [testEnvironment(stack, 'us')],
          preDeploySteps: [step],
        }),
    ).toThrow(/the steps and settings is about \d{4,} bytes .*Split it: fewer pre- and post-deploy steps/);
  });

  const token = () => Lazy.string({ produce: () => 'resolved' });
  it.each([
    { case: 'plain JSON', value: () => ({ name: 'us', ports: [3000] }), bytes: 28 },
    { case: 'a string token', value: () => ({ cluster: token() }), bytes: 14 + 80 },
    { case: 'a token in a string', value: () => ({ arn: `arn:${token()}:ecs` }), bytes: 18 + 80 },
    {
      case: 'a list token element',
      value: () => ({ subnets: [...Lazy.list({ produce: () => ['a'] }), 'subnet-1'] }),
      bytes: 27 + 80,
    },
    { case: 'a number token', value: () => ({ port: Lazy.number({ produce: () => 1 }) }), bytes: 9 + 80 },
  ])('estimates $case with every token as 80 characters', ({ value, bytes }) => {
    expect(estimatedJsonBytes(value())).toBe(bytes);
  });
});

// CodePipeline names executions `<prefix>-<action execution id>`
// (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-StepFunctions.html) and
// StartExecution takes 1-80 characters, A-Z a-z 0-9 - _ for a state machine that logs to CloudWatch Logs
// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
describe('release action', () => {
  function orchestrator() {
    const stack = testStack();
    return new DeployOrchestrator(stack, 'Deploy', { environments: [testEnvironment(stack, 'us')] });
  }
  const input = new codepipeline.Artifact('Build');

  it('takes a prefix that leaves 80 characters with the hyphen and the 36-character id', () => {
    const action = orchestrator().releaseAction({ input, executionNamePrefix: 'r'.repeat(43) });
    expect(action.actionProperties.actionName).toBe('Release');
  });

  it('refuses a longer prefix, naming the limit and the fix', () => {
    expect(() => orchestrator().releaseAction({ input, executionNamePrefix: 'r'.repeat(44) })).toThrow(
      /executionNamePrefix 'r{44}' is 44 characters; CodePipeline names each execution <prefix>-<36-character action execution id> and Step Functions takes 80 characters at most, so use 43 at most/,
    );
  });

  it.each(['release.1', 'release 1', 'release:1'])(
    'refuses the prefix %j, naming the characters it may use',
    (prefix) => {
      expect(() => orchestrator().releaseAction({ input, executionNamePrefix: prefix })).toThrow(
        /use A-Z a-z 0-9 - and _ only/,
      );
    },
  );

  it('leaves a prefix resolved at deploy time to CodePipeline', () => {
    const prefix = Lazy.string({ produce: () => 'r'.repeat(60) });
    expect(() => orchestrator().releaseAction({ input, executionNamePrefix: prefix })).not.toThrow();
  });
});
