import {
  BatchGetDeploymentTargetsCommand,
  CodeDeployClient,
  ContinueDeploymentCommand,
  type DeploymentInfo,
  ListDeploymentsCommand,
  ListDeploymentTargetsCommand,
} from '@aws-sdk/client-codedeploy';
import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type Tag,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { plan, planRelease, REUSE_SEARCH_LIMIT } from '../../../lambdas/plan/core.js';
import { ROLLBACK_SEARCH_LIMIT } from '../../../lambdas/plan/rollback-to.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import { ACTIVE_STATUSES } from '../../../lambdas/shared/deployments.js';
import {
  DeployInProgressError,
  ForeignDeploymentError,
  TransientError,
  ValidationError,
} from '../../../lambdas/shared/errors.js';
import { deploymentMarker, rollbackMarker, runIdOf, TAGS } from '../../../lambdas/shared/markers.js';
import { serveDeployments } from '../shared/deployment-fixtures.js';
import {
  EXECUTION_ARN,
  environment,
  fakeClock,
  REGIONS,
  STATE_MACHINE_ARN,
  testConfig,
  throttled,
} from '../shared/fixtures.js';

const ecs = mockClient(ECSClient);
const sfn = mockClient(SFNClient);
const codedeploy = mockClient(CodeDeployClient);
const clients = createClients({ codedeploy: CodeDeployClient, ecs: ECSClient, sfn: SFNClient });
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:3f2c1d0';

/** A task definition store behind the ECS mock: families, revisions, tags, as ECS keeps them. */
class FakeTaskDefinitions {
  readonly families = new Map<string, Array<{ definition: TaskDefinition; tags: Tag[] }>>();
  /** ECS service name to the task definition it runs. */
  readonly services = new Map<string, string>();

  add(family: string, containers: ContainerDefinition[], tags: Tag[] = []): string {
    const revisions = this.families.get(family) ?? [];
    const revision = revisions.length + 1;
    const region = REGIONS[family.split('-')[0]] ?? 'us-east-1';
    const taskDefinitionArn = `arn:aws:ecs:${region}:123456789012:task-definition/${family}:${revision}`;
    revisions.push({
      definition: {
        taskDefinitionArn,
        family,
        revision,
        status: 'ACTIVE',
        containerDefinitions: containers,
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        requiresCompatibilities: ['FARGATE'],
        executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
        compatibilities: ['EC2', 'FARGATE'],
        requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
        registeredAt: new Date('2026-11-01T00:00:00Z'),
        registeredBy: 'arn:aws:iam::123456789012:user/admin',
      },
      tags,
    });
    this.families.set(family, revisions);
    return taskDefinitionArn;
  }

  find(taskDefinition: string) {
    const name = taskDefinition.slice(taskDefinition.lastIndexOf('/') + 1);
    const [family, revision] = name.split(':');
    const revisions = this.families.get(family) ?? [];
    return revision ? revisions[Number(revision) - 1] : revisions.at(-1);
  }

  wire(): void {
    ecs.on(DescribeTaskDefinitionCommand).callsFake(({ taskDefinition, include }) => {
      const found = this.find(taskDefinition);
      if (!found)
        throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
      return { taskDefinition: found.definition, tags: include?.includes('TAGS') ? found.tags : undefined };
    });
    ecs.on(ListTaskDefinitionsCommand).callsFake(({ familyPrefix, maxResults, status }) => {
      const arns = [...this.families.entries()]
        .filter(([family]) => family.startsWith(familyPrefix ?? ''))
        .flatMap(([, revisions]) =>
          revisions
            .filter((revision) => revision.definition.status === (status ?? 'ACTIVE'))
            .map((revision) => revision.definition.taskDefinitionArn ?? ''),
        )
        .reverse();
      return { taskDefinitionArns: arns.slice(0, maxResults ?? 100) };
    });
    ecs.on(RegisterTaskDefinitionCommand).callsFake(({ family, containerDefinitions, tags }) => {
      const arn = this.add(family ?? '', containerDefinitions ?? [], tags ?? []);
      return { taskDefinition: this.find(arn)?.definition, tags };
    });
    ecs.on(DescribeServicesCommand).callsFake(({ cluster, services }) => ({
      services: (services ?? []).map((service: string) => ({
        serviceName: service,
        serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/${service}`,
        status: 'ACTIVE',
        taskDefinition: this.services.get(service),
      })),
      failures: [],
    }));
  }
}

const appContainer = (image = 'repo/app:old'): ContainerDefinition => ({
  name: 'app',
  image,
  essential: true,
  command: ['node', 'web.mjs'],
  logConfiguration: {
    logDriver: 'awslogs',
    options: { 'awslogs-group': '/app', 'awslogs-stream-prefix': 'app' },
  },
});

function seed(store: FakeTaskDefinitions, names: string[]): void {
  for (const name of names) {
    for (const family of [`${name}-web`, `${name}-worker`, `${name}-oneoff`]) {
      const arn = store.add(family, [
        appContainer(),
        { name: 'sidecar', image: 'repo/sidecar:1', essential: false },
      ]);
      store.services.set(family, arn);
    }
  }
}

const running = (executionArn: string, name: string, startDate: string) => ({
  executionArn,
  name,
  stateMachineArn: STATE_MACHINE_ARN,
  status: 'RUNNING' as const,
  startDate: new Date(startDate),
});

const event = (input: unknown) => ({
  input,
  executionArn: EXECUTION_ARN,
  stateMachineArn: STATE_MACHINE_ARN,
});

/** An active deployment on the test configuration's group of (environment, service). */
const active = (
  deploymentId: string,
  environment: string,
  service: string,
  fields: Partial<DeploymentInfo> = {},
): DeploymentInfo => ({
  deploymentId,
  applicationName: `${environment}-app`,
  deploymentGroupName: `${environment}-${service}`,
  status: 'InProgress',
  creator: 'user',
  createTime: new Date('2026-11-26T06:00:00Z'),
  ...fields,
});

describe('plan', () => {
  let store: FakeTaskDefinitions;
  let deployments: DeploymentInfo[];
  const config = testConfig();

  beforeEach(() => {
    ecs.reset();
    sfn.reset();
    codedeploy.reset();
    store = new FakeTaskDefinitions();
    store.wire();
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    deployments = [];
    serveDeployments(codedeploy, deployments);
  });

  describe('input validation', () => {
    it.each([
      { input: undefined, message: 'input: expected an object with release, images' },
      ...[[], 'x', 42, null].map((input) => ({
        input,
        message: `input: expected an object with release, images, environments, skipMigrations, rollbackTo, got ${JSON.stringify(input)}; start the execution with e.g. {"release": "2026-11-26.3", "images": {"app": "<image URI>"}}`,
      })),
      { input: { images: { app: IMAGE } }, message: 'input.release: required' },
      {
        input: { release: 'bad release', images: { app: IMAGE } },
        message: 'input.release: "bad release" is not a release name',
      },
      {
        input: { release: 'x'.repeat(65), images: { app: IMAGE } },
        message: 'is not a release name; use 1-64',
      },
      { input: { release: 7, images: { app: IMAGE } }, message: 'input.release: expected a string' },
      { input: { release: 'r1' }, message: 'input.images: required' },
      { input: { release: 'r1', images: {} }, message: 'input.images: empty' },
      {
        input: { release: 'r1', images: ['x'] },
        message: 'input.images: expected an object of container name to image URI',
      },
      { input: { release: 'r1', images: { app: '' } }, message: 'input.images.app: the image URI is empty' },
      {
        input: { release: 'r1', images: { 'my app': IMAGE } },
        message: 'input.images.my app: "my app" is not a container name; use 1-255 of A-Z a-z 0-9 _ -',
      },
      {
        input: { release: 'r1', images: { app: 3 } },
        message: 'input.images.app: expected an image URI string, got 3',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, environments: ['us', 'mars'] },
        message: 'input.environments[1]: "mars" is not configured; configured: us, eu, au',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, environments: ['us', 'eu', 'us'] },
        message: 'input.environments[2]: "us" is listed twice',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, environments: [] },
        message: 'input.environments: empty',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, environments: 'us' },
        message: 'input.environments: expected a list',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, environments: [1] },
        message: 'input.environments[0]: expected an environment name',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, skipMigrations: 'yes' },
        message: 'input.skipMigrations: expected true or false',
      },
      {
        input: { release: 'r1', images: { app: IMAGE }, region: 'us' },
        message: 'input.region: unknown field',
      },
    ])('refuses $input: $message', async ({ input, message }) => {
      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      await expect(planned).rejects.toThrow(message);
      expect(sfn).not.toHaveReceivedAnyCommand();
      expect(ecs).not.toHaveReceivedAnyCommand();
    });

    it('names every problem of the input at once', async () => {
      const input = { release: '', images: {}, environments: ['mars'], extra: true };

      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      await expect(planned).rejects.toThrow(
        /input\.release: .*\ninput\.images: empty.*\ninput\.environments\[0\]: "mars".*\ninput\.extra: unknown field/s,
      );
    });

    it('refuses an image for a container no task definition of the run has, before registering', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE, apps: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      await expect(planned).rejects.toThrow(
        'input.images.apps: no task definition of this release has a container "apps"; containers: app, sidecar',
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it('refuses a configured service ECS does not have', async () => {
      // Prepare
      seed(store, ['us']);
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          {
            serviceName: 'us-web',
            status: 'ACTIVE',
            taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-web:1',
          },
        ],
        failures: [{ arn: 'arn:aws:ecs:us-east-1:1:service/us-cluster/us-worker', reason: 'MISSING' }],
      });

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      await expect(planned).rejects.toThrow(
        /Environment "us": service\(s\) us-worker not found active in cluster "us-cluster"/,
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });
  });

  describe('concurrent executions', () => {
    it('refuses while another execution runs, naming it', async () => {
      // Prepare
      const other = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26_2';
      sfn.on(ListExecutionsCommand).resolves({
        executions: [
          running(EXECUTION_ARN, '2026-11-26_3', '2026-11-26T07:00:00Z'),
          running(other, '2026-11-26_2', '2026-11-26T06:00:00Z'),
        ],
      });

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      await expect(planned).rejects.toThrow(DeployInProgressError);
      await expect(planned).rejects.toThrow(
        `Execution "2026-11-26_2" (${other}) of this state machine is running since 2026-11-26T06:00:00.000Z`,
      );
      expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
        stateMachineArn: STATE_MACHINE_ARN,
        statusFilter: 'RUNNING',
      });
      expect(ecs).not.toHaveReceivedAnyCommand();
    });

    it('raises a TransientError naming the call when ListExecutions is throttled past the SDK retries', async () => {
      sfn.on(ListExecutionsCommand).rejects(throttled('ListExecutions'));

      const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      await expect(planned).rejects.toThrow(TransientError);
      await expect(planned).rejects.toThrow(
        `Plan: ListExecutions on ${STATE_MACHINE_ARN} failed (ThrottlingException: Rate exceeded (ListExecutions)) after the SDK's retries; nothing was registered yet.`,
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it('does not depend on the order ListExecutions lists the running executions in', async () => {
      // Prepare: AWS documents "sorted by time, most recent first" without saying which time
      // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html).
      const older = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26_1';
      const listed = [
        running(older, '2026-11-26_1', '2026-11-26T05:00:00Z'),
        running(EXECUTION_ARN, '2026-11-26_3', '2026-11-26T07:00:00Z'),
      ];
      for (const executions of [listed, [...listed].reverse()]) {
        sfn.reset();
        sfn.on(ListExecutionsCommand).resolves({ executions });

        // Act
        const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
          clients,
          clock: fakeClock(),
          config,
        });

        // Assess
        await expect(planned).rejects.toThrow(`Execution "2026-11-26_1" (${older})`);
      }
    });

    it('looks past the first page of running executions', async () => {
      // Prepare
      sfn
        .on(ListExecutionsCommand)
        .resolvesOnce({ executions: [running(EXECUTION_ARN, 'me', '2026-11-26T07:00:00Z')], nextToken: 't1' })
        .resolvesOnce({ executions: [running(`${EXECUTION_ARN}-other`, 'other', '2026-11-26T06:59:00Z')] });

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      await expect(planned).rejects.toThrow(/Execution "other"/);
      expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { nextToken: 't1' });
    });

    it.each([
      {
        name: 'a release started after this one runs (it refuses itself)',
        others: [running(`${EXECUTION_ARN}-later`, 'later', '2026-11-26T07:00:01Z')],
        refused: undefined,
      },
      {
        name: 'two releases started in the same millisecond: the ARN decides',
        others: [running(`${EXECUTION_ARN}-twin`, 'twin', '2026-11-26T07:00:00Z')],
        refused: undefined,
      },
      {
        name: 'the same millisecond, and the other ARN sorts first',
        others: [running(EXECUTION_ARN.replace('Deploy:', 'Deploy:0'), 'first', '2026-11-26T07:00:00Z')],
        refused: 'first',
      },
      {
        name: 'an older and a newer release run',
        others: [
          running(`${EXECUTION_ARN}-later`, 'later', '2026-11-26T07:00:01Z'),
          running(`${EXECUTION_ARN}-old`, 'old', '2026-11-26T06:00:00Z'),
        ],
        refused: 'old',
      },
    ])('$name', async ({ others, refused }) => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      sfn.on(ListExecutionsCommand).resolves({
        executions: [running(EXECUTION_ARN, 'me', '2026-11-26T07:00:00Z'), ...others],
      });

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      if (refused) await expect(planned).rejects.toThrow(`Execution "${refused}"`);
      else await expect(planned).resolves.toMatchObject({ release: 'r1' });
    });

    it('refuses any other running execution while this one is not listed yet', async () => {
      sfn.on(ListExecutionsCommand).resolves({
        executions: [running(`${EXECUTION_ARN}-later`, 'later', '2026-11-26T08:00:00Z')],
      });

      const planned = plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      await expect(planned).rejects.toThrow(DeployInProgressError);
    });

    it('goes ahead when only this execution runs', async () => {
      seed(store, ['us', 'eu', 'au']);
      sfn.on(ListExecutionsCommand).resolves({
        executions: [
          {
            executionArn: EXECUTION_ARN,
            name: 'me',
            stateMachineArn: STATE_MACHINE_ARN,
            status: 'RUNNING',
            startDate: new Date(),
          },
        ],
      });

      const result = await plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config,
      });

      expect(result.environments).toEqual(['us', 'eu', 'au']);
    });
  });

  describe('revisions', () => {
    it('records what runs now and registers the release revision of every family', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      const clock = fakeClock(Date.parse('2026-11-26T07:00:00.000Z'));

      // Act
      const result = await plan(event({ release: '2026-11-26.3', images: { app: IMAGE } }), {
        clients,
        clock,
        config,
      });

      // Assess
      expect(result).toEqual({
        release: '2026-11-26.3',
        runId: runIdOf(EXECUTION_ARN),
        startedAt: '2026-11-26T07:00:00.000Z',
        account: '123456789012',
        environments: ['us', 'eu', 'au'],
        skipMigrations: false,
        oneOff: { us: 'us-oneoff:2', eu: 'eu-oneoff:2', au: 'au-oneoff:2' },
        services: {
          us: {
            web: [1, 2],
            worker: [1, 2],
          },
          eu: {
            web: [1, 2],
            worker: [1, 2],
          },
          au: {
            web: [1, 2],
            worker: [1, 2],
          },
        },
        waves: [{ environments: ['us', 'eu', 'au'], cutover: 'independent' }],
      });
      expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 9);
      expect(ecs).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, {
        taskDefinition: 'us-oneoff',
        include: ['TAGS'],
      });
    });

    it('copies every registrable field, swaps only the named images and drops the read-only fields', async () => {
      // Prepare
      const web = store.add(
        'us-web',
        [appContainer(), { name: 'sidecar', image: 'repo/sidecar:1' }],
        [
          { key: 'team', value: 'payments' },
          { key: TAGS.release, value: 'older' },
          { key: 'aws:cloudformation:stack-name', value: 'App' },
        ],
      );
      store.services.set('us-web', web);
      store.services.set('us-worker', store.add('us-worker', [appContainer()]));
      store.add('us-oneoff', [appContainer()]);

      // Act
      await plan(event({ release: 'r2', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      const registration = ecs
        .commandCalls(RegisterTaskDefinitionCommand)
        .map((call) => call.args[0].input)
        .find((input) => input.family === 'us-web');
      expect(registration).toEqual({
        family: 'us-web',
        taskRoleArn: undefined,
        executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
        networkMode: 'awsvpc',
        containerDefinitions: [appContainer(IMAGE), { name: 'sidecar', image: 'repo/sidecar:1' }],
        volumes: undefined,
        placementConstraints: undefined,
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        pidMode: undefined,
        ipcMode: undefined,
        proxyConfiguration: undefined,
        inferenceAccelerators: undefined,
        ephemeralStorage: undefined,
        runtimePlatform: undefined,
        enableFaultInjection: undefined,
        tags: [
          { key: 'team', value: 'payments' },
          { key: TAGS.release, value: 'r2' },
        ],
      });
      expect(registration).not.toHaveProperty('taskDefinitionArn');
      expect(registration).not.toHaveProperty('revision');
      expect(registration).not.toHaveProperty('status');
      expect(registration).not.toHaveProperty('requiresAttributes');
      expect(registration).not.toHaveProperty('compatibilities');
      expect(registration).not.toHaveProperty('registeredAt');
    });

    it('reuses the revisions a first attempt of the release registered', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      const input = { release: 'r1', images: { app: IMAGE } };
      const first = await plan(event(input), { clients, clock: fakeClock(), config });
      ecs.resetHistory();

      // Act
      const second = await plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      expect(second).toEqual(first);
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
      expect(ecs).toHaveReceivedCommandWith(ListTaskDefinitionsCommand, {
        familyPrefix: 'us-web',
        sort: 'DESC',
        status: 'ACTIVE',
        maxResults: REUSE_SEARCH_LIMIT,
      });
    });

    it('tells which revisions it registered and which an earlier attempt had registered', async () => {
      // Prepare: a first attempt registered every revision of us.
      seed(store, ['us', 'eu', 'au']);
      const input = { release: 'r1', images: { app: IMAGE }, environments: ['us'] };
      const first = await planRelease(event(input), { clients, clock: fakeClock(), config });

      // Act
      const second = await planRelease(event(input), { clients, clock: fakeClock(), config });

      // Assess
      expect(first.revisions).toEqual([
        { environment: 'us', base: 'us-oneoff:1', revision: 'us-oneoff:2', action: 'registered' },
        { environment: 'us', service: 'web', base: 'us-web:1', revision: 'us-web:2', action: 'registered' },
        {
          environment: 'us',
          service: 'worker',
          base: 'us-worker:1',
          revision: 'us-worker:2',
          action: 'registered',
        },
      ]);
      expect(second.revisions.map((decision) => decision.action)).toEqual(['reused', 'reused', 'reused']);
      expect(second.plan).toEqual(first.plan);
    });

    it('registers anew when the revision tagged with the release carries other images', async () => {
      // Prepare
      store.add('us-web', [appContainer()]);
      store.add('us-web', [appContainer('repo/app:other')], [{ key: TAGS.release, value: 'r1' }]);
      store.add('us-worker', [appContainer()]);
      store.add('us-oneoff', [appContainer()]);
      ecs.on(DescribeServicesCommand).resolves({
        services: ['us-web', 'us-worker'].map((service) => ({
          serviceName: service,
          status: 'ACTIVE',
          taskDefinition: `arn:aws:ecs:us-east-1:123456789012:task-definition/${service}:1`,
        })),
      });

      // Act
      const result = await plan(event({ release: 'r1', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      expect(result.services.us.web).toEqual([1, 3]);
    });

    it('ignores longer families the prefix matches and stops searching after a bound', async () => {
      // Prepare
      store.add('us-web', [appContainer(IMAGE)], [{ key: TAGS.release, value: 'r1' }]);
      for (let index = 0; index < REUSE_SEARCH_LIMIT + 2; index += 1) store.add('us-web', [appContainer()]);
      store.add('us-web-canary', [appContainer(IMAGE)], [{ key: TAGS.release, value: 'r1' }]);
      store.add('us-worker', [appContainer()]);
      store.add('us-oneoff', [appContainer()]);
      const latest = `us-web:${REUSE_SEARCH_LIMIT + 3}`;
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          {
            serviceName: 'us-web',
            status: 'ACTIVE',
            taskDefinition: `arn:aws:ecs:us-east-1:1:task-definition/${latest}`,
          },
          {
            serviceName: 'us-worker',
            status: 'ACTIVE',
            taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-worker:1',
          },
        ],
      });

      // Act
      const result = await plan(event({ release: 'r1', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      expect(result.services.us.web[1]).toBe(REUSE_SEARCH_LIMIT + 4);
      const searched = ecs
        .commandCalls(DescribeTaskDefinitionCommand)
        .map((call) => call.args[0].input.taskDefinition)
        .filter((name) => name?.includes('us-web'));
      expect(searched).not.toContain(expect.stringContaining('us-web-canary'));
      expect(searched).not.toContain('arn:aws:ecs:us-east-1:123456789012:task-definition/us-web:1');
    });

    it('registers a definition shared by two services once', async () => {
      // Prepare
      const shared = store.add('us-app', [appContainer()]);
      store.add('us-oneoff', [appContainer()]);
      ecs.on(DescribeServicesCommand).resolves({
        services: ['us-web', 'us-worker'].map((serviceName) => ({
          serviceName,
          status: 'ACTIVE',
          taskDefinition: shared,
        })),
      });

      const us = environment('us');
      const sharing = testConfig({
        environments: [{ ...us, services: us.services.map((service) => ({ ...service, family: 'us-app' })) }],
      });

      // Act
      const result = await plan(event({ release: 'r1', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config: sharing,
      });

      // Assess
      expect(result.services.us).toEqual({
        web: [1, 2],
        worker: [1, 2],
      });
      expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 2);
    });

    it('refuses a service running another family than the configured one, before registering', async () => {
      // Prepare
      store.add('us-canary', [appContainer()]);
      store.add('us-worker', [appContainer()]);
      store.add('us-oneoff', [appContainer()]);
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          {
            serviceName: 'us-web',
            status: 'ACTIVE',
            taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-canary:1',
          },
          {
            serviceName: 'us-worker',
            status: 'ACTIVE',
            taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-worker:1',
          },
        ],
      });

      // Act
      const planned = plan(event({ release: 'r1', images: { app: IMAGE }, environments: ['us'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      await expect(planned).rejects.toThrow(
        /"us\/web" runs task definition family "us-canary" but the configuration names "us-web"/,
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it('describes services in batches of 10 and follows the primary task set under CodeDeploy', async () => {
      // Prepare
      const services = Array.from({ length: 12 }, (_, index) => ({
        ...environment('us').services[0],
        name: `svc${index}`,
        service: `us-svc${index}`,
        family: 'us-app',
      }));
      const big = testConfig({ environments: [environment('us', { services })] });
      store.add('us-oneoff', [appContainer()]);
      store.add('us-app', [appContainer()]);
      store.add('us-app', [appContainer()]);
      ecs.on(DescribeServicesCommand).callsFake(({ services: names }) => ({
        services: names.map((serviceName: string) => ({
          serviceName,
          status: 'ACTIVE',
          taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-app:2',
          taskSets: [
            { status: 'ACTIVE', taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-app:2' },
            { status: 'PRIMARY', taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/us-app:1' },
          ],
        })),
      }));

      // Act
      const result = await plan(event({ release: 'r1', images: { app: IMAGE } }), {
        clients,
        clock: fakeClock(),
        config: big,
      });

      // Assess
      expect(ecs).toHaveReceivedCommandTimes(DescribeServicesCommand, 2);
      expect(
        ecs.commandCalls(DescribeServicesCommand).map((call) => call.args[0].input.services?.length),
      ).toEqual([10, 2]);
      expect(result.services.us.svc11[0]).toBe(1);
    });

    it('plans only the environments asked for and keeps skipMigrations', async () => {
      seed(store, ['us', 'eu', 'au']);

      const result = await plan(
        event({ release: 'r1', images: { app: IMAGE }, environments: ['eu'], skipMigrations: true }),
        {
          clients,
          clock: fakeClock(),
          config,
        },
      );

      expect(result.environments).toEqual(['eu']);
      expect(result.skipMigrations).toBe(true);
      expect(Object.keys(result.services)).toEqual(['eu']);
      expect(ecs).not.toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'us-cluster' });
    });
  });

  describe('foreign deployments', () => {
    const input = { release: 'r1', images: { app: IMAGE } };

    it('refuses a foreign active deployment on any group, naming each, before registering anything', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      deployments.push(
        active('d-hand', 'eu', 'worker', { status: 'Ready', creator: 'user', description: 'hotfix' }),
        active('d-queued', 'au', 'web', { status: 'Queued', creator: 'autoscaling', description: undefined }),
      );

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ForeignDeploymentError);
      await expect(planned).rejects.toThrow(
        'Release r1 started nothing: CodeDeploy allows one active deployment per deployment group, and 2 are taken: ' +
          'deployment group eu-app/eu-worker (eu/worker, eu-west-1) has active deployment d-hand ' +
          '(status Ready, creator user, description "hotfix"): wait for it to finish, or stop it; ' +
          'deployment group au-app/au-web (au/web, ap-southeast-2) has active deployment d-queued ' +
          '(status Queued, creator autoscaling, description ""): wait for it to finish, or stop it. ' +
          'Once every group is free, start the release again.',
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it('with onPreviousTerminationWait refuse, says how to end the termination wait of the previous release', async () => {
      // Prepare: CodeDeploy keeps instanceTerminationWaitTimeStarted false for ECS; the target
      // Succeeded while the deployment is InProgress says it waits (containers-roadmap#269).
      seed(store, ['us', 'eu', 'au']);
      deployments.push(
        active('d-r0', 'us', 'web', {
          status: 'InProgress',
          instanceTerminationWaitTimeStarted: false,
          description: deploymentMarker('r0', 'us', 'web'),
        }),
      );
      codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['us-cluster:us-web'] });
      codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
        deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
      });

      // Act
      const planned = plan(event(input), {
        clients,
        clock: fakeClock(),
        config: testConfig({ onPreviousTerminationWait: 'refuse' }),
      });

      // Assess
      await expect(planned).rejects.toThrow(ForeignDeploymentError);
      await expect(planned).rejects.toThrow(
        'deployment group us-app/us-web (us/web, us-east-1) has deployment d-r0 of stepdeploy release r0 ' +
          'in its termination wait: traffic already moved to its replacement tasks and the original tasks are ' +
          'kept for the rollback window. Run `aws deploy continue-deployment --deployment-id d-r0 ' +
          '--deployment-wait-type TERMINATION_WAIT --region us-east-1` to end the wait ' +
          "(the previous release's original tasks are then terminated), or wait for it to finish",
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it.each([
      {
        name: 'a deployment of another release',
        description: deploymentMarker('r0', 'au', 'worker'),
        named: 'd-other of stepdeploy release r0 (status Created)',
      },
      {
        name: 'a rollback of another release',
        description: rollbackMarker('r0', 'au', 'worker'),
        named: 'd-other of stepdeploy release r0 (its rollback) (status Created)',
      },
    ])('names the release of $name', async ({ description, named }) => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      deployments.push(active('d-other', 'au', 'worker', { status: 'Created', description }));

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(
        `deployment group au-app/au-worker (au/worker, ap-southeast-2) has active deployment ${named}: ` +
          "wait for that release's run to finish, or stop it.",
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it('treats a CodeDeploy rollback carrying this release marker as foreign', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      deployments.push(
        active('d-auto-rb', 'eu', 'web', {
          creator: 'codeDeployRollback',
          description: deploymentMarker('r1', 'eu', 'web'),
          rollbackInfo: { rollbackTriggeringDeploymentId: 'd-r1' },
        }),
      );

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(/d-auto-rb \(status InProgress, creator codeDeployRollback/);
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it("goes ahead on a retry while this release's own deployment is active, leaving it to be adopted", async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      deployments.push(active('d-r1', 'us', 'web', { description: deploymentMarker('r1', 'us', 'web') }));

      // Act
      const result = await plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      expect(result.services.us.web[1]).toBe(2);
      expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 9);
    });

    it('looks only at the active deployments of the groups of the environments asked for', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      deployments.push(active('d-us', 'us', 'web', { description: 'hotfix' }));

      // Act
      const result = await plan(event({ ...input, environments: ['eu'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      expect(result.environments).toEqual(['eu']);
      expect(codedeploy.commandCalls(ListDeploymentsCommand).map((call) => call.args[0].input)).toEqual(
        ['eu-web', 'eu-worker'].map((deploymentGroupName) => ({
          applicationName: 'eu-app',
          deploymentGroupName,
          includeOnlyStatuses: ACTIVE_STATUSES,
          createTimeRange: undefined,
        })),
      );
    });
  });

  describe("an earlier release's termination wait", () => {
    const input = { release: 'r1', images: { app: IMAGE } };

    /** `d-r0` of release r0 on us/web, traffic moved: its ECS target Succeeded while it is InProgress. */
    function waitingDeployment(fields: Partial<DeploymentInfo> = {}): void {
      deployments.push(
        active('d-r0', 'us', 'web', { description: deploymentMarker('r0', 'us', 'web'), ...fields }),
      );
      codedeploy.on(ListDeploymentTargetsCommand).resolves({ targetIds: ['us-cluster:us-web'] });
      codedeploy.on(BatchGetDeploymentTargetsCommand).resolves({
        deploymentTargets: [{ deploymentTargetType: 'ECSTarget', ecsTarget: { status: 'Succeeded' } }],
      });
    }

    it('ends the wait, after registering, and records it in the plan', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      waitingDeployment();

      // Act
      const result = await plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      expect(codedeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
      expect(codedeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, {
        deploymentId: 'd-r0',
        deploymentWaitType: 'TERMINATION_WAIT',
      });
      expect(result.endedWaits).toEqual([{ release: 'r0', deployments: { us: { web: 'd-r0' } } }]);
      expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 9);
      const lastRegistration = ecs.commandCalls(RegisterTaskDefinitionCommand).at(-1);
      const continued = codedeploy.commandCalls(ContinueDeploymentCommand)[0];
      expect(lastRegistration && continued && lastRegistration.calledBefore(continued)).toBe(true);
    });

    it.each(['DeploymentIsNotInReadyStateException', 'DeploymentAlreadyCompletedException'])(
      'counts a wait ContinueDeployment calls over (%s) as ended',
      async (name) => {
        // Prepare: continued before (by RetireOldWorkers, or an earlier attempt), or finished meanwhile.
        seed(store, ['us', 'eu', 'au']);
        waitingDeployment();
        codedeploy.on(ContinueDeploymentCommand).rejects(Object.assign(new Error('not waiting'), { name }));

        // Act
        const result = await plan(event(input), { clients, clock: fakeClock(), config });

        // Assess
        expect(result.endedWaits).toEqual([{ release: 'r0', deployments: { us: { web: 'd-r0' } } }]);
      },
    );

    it('fails naming the deployment and the command when the wait cannot be ended', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      waitingDeployment();
      codedeploy
        .on(ContinueDeploymentCommand)
        .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ForeignDeploymentError);
      await expect(planned).rejects.toThrow(
        'us/web: deployment d-r0 of release r0 (AccessDeniedException: not authorized); end it with ' +
          '`aws deploy continue-deployment --deployment-id d-r0 --deployment-wait-type TERMINATION_WAIT --region us-east-1`',
      );
    });

    it('leaves a throttled ContinueDeployment to the retry: TransientError, decided nothing', async () => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      waitingDeployment();
      codedeploy
        .on(ContinueDeploymentCommand)
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(TransientError);
      await expect(planned).rejects.toThrow(
        /us\/web: deployment d-r0 of release r0 \(ThrottlingException: Rate exceeded\)/,
      );
    });

    it.each([
      {
        name: 'a deployment without a stepdeploy marker in its wait',
        fields: { description: 'a hotfix, deployed by hand' },
      },
      {
        name: "a release's deployment whose traffic has not moved",
        fields: { status: 'Created' as const },
      },
      {
        name: 'a rollback CodeDeploy made, carrying the marker',
        fields: {
          creator: 'codeDeployRollback' as const,
          rollbackInfo: { rollbackTriggeringDeploymentId: 'd-x' },
        },
      },
    ])('still refuses $name, ending no wait', async ({ fields }) => {
      // Prepare
      seed(store, ['us', 'eu', 'au']);
      waitingDeployment(fields);
      deployments.push(active('d-r0-eu', 'eu', 'web', { description: deploymentMarker('r0', 'eu', 'web') }));

      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ForeignDeploymentError);
      await expect(planned).rejects.toThrow(/has (active )?deployment d-r0 /);
      await expect(planned).rejects.not.toThrow(/d-r0-eu/);
      expect(codedeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });
  });

  describe('a rollback to an earlier release', () => {
    const TARGET_ARN = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:r1-20261120T080000';

    /** Release r1 registered revision 2 of every family, tagged r1; r2 (revision 3) runs now. */
    function releasedTwice(): void {
      for (const name of ['us', 'eu', 'au']) {
        for (const family of [`${name}-web`, `${name}-worker`, `${name}-oneoff`]) {
          store.add(family, [appContainer('repo/app:r0')]);
          store.add(family, [appContainer('repo/app:r1')], [{ key: TAGS.release, value: 'r1' }]);
          const now = store.add(family, [appContainer('repo/app:r2')], [{ key: TAGS.release, value: 'r2' }]);
          store.services.set(family, now);
        }
      }
    }

    const recordedPlan = (environments = ['us', 'eu', 'au']) => ({
      release: 'r1',
      runId: runIdOf(TARGET_ARN),
      startedAt: '2026-11-20T08:00:00.000Z',
      account: '123456789012',
      environments,
      skipMigrations: false,
      oneOff: Object.fromEntries(environments.map((name) => [name, `${name}-oneoff:2`])),
      services: Object.fromEntries(environments.map((name) => [name, { web: [1, 2], worker: [1, 2] }])),
    });

    /** The state machine's SUCCEEDED executions, newest first, and what DescribeExecution says of each. */
    function succeeded(
      executions: Array<{ arn: string; input: unknown; output?: unknown; status?: 'SUCCEEDED' | 'FAILED' }>,
    ): void {
      const items: ExecutionListItem[] = executions.map(({ arn }) => ({
        executionArn: arn,
        stateMachineArn: STATE_MACHINE_ARN,
        name: arn.split(':').pop(),
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-20T08:00:00Z'),
      }));
      sfn.on(ListExecutionsCommand).callsFake(({ statusFilter, nextToken }) => {
        if (statusFilter !== 'SUCCEEDED') return { executions: [] };
        const start = Number(nextToken ?? 0);
        const page = items.slice(start, start + 100);
        return { executions: page, nextToken: start + 100 < items.length ? String(start + 100) : undefined };
      });
      sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
        const found = executions.find((execution) => execution.arn === executionArn);
        return {
          executionArn,
          status: found?.status ?? 'SUCCEEDED',
          input: JSON.stringify(found?.input),
          output: found?.output === undefined ? undefined : JSON.stringify(found.output),
        };
      });
    }

    const rollback = { release: 'r3', rollbackTo: 'r1' };

    it('deploys the revisions the release recorded, registers nothing and plans no task', async () => {
      // Prepare
      releasedTwice();
      succeeded([
        { arn: `${TARGET_ARN}-later`, input: { release: 'r2', images: { app: 'repo/app:r2' } } },
        {
          arn: TARGET_ARN,
          input: { release: 'r1', images: { app: 'repo/app:r1' } },
          output: { release: 'r1', plan: recordedPlan() },
        },
      ]);

      // Act
      const result = await plan(event(rollback), { clients, clock: fakeClock(), config });

      // Assess
      expect(result).toMatchObject({
        release: 'r3',
        rollbackTo: 'r1',
        skipMigrations: true,
        oneOff: {},
        environments: ['us', 'eu', 'au'],
        services: {
          us: { web: [3, 2], worker: [3, 2] },
          eu: { web: [3, 2], worker: [3, 2] },
          au: { web: [3, 2], worker: [3, 2] },
        },
      });
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
      expect(ecs).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, {
        taskDefinition: 'eu-worker:2',
        include: ['TAGS'],
      });
      expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
        stateMachineArn: STATE_MACHINE_ARN,
        statusFilter: 'SUCCEEDED',
      });
    });

    it('finds the tagged revisions by their tag when the execution recorded no plan it can read', async () => {
      // Prepare
      releasedTwice();
      succeeded([{ arn: TARGET_ARN, input: { release: 'r1', images: { app: 'repo/app:r1' } }, output: {} }]);

      // Act
      const result = await plan(event({ ...rollback, environments: ['eu'] }), {
        clients,
        clock: fakeClock(),
        config,
      });

      // Assess
      expect(result.services).toEqual({ eu: { web: [3, 2], worker: [3, 2] } });
      expect(ecs).toHaveReceivedCommandWith(ListTaskDefinitionsCommand, {
        familyPrefix: 'eu-web',
        status: 'ACTIVE',
        sort: 'DESC',
      });
    });

    it('refuses a release that never succeeded, naming it, before anything is read of ECS', async () => {
      // Prepare
      releasedTwice();
      succeeded([
        { arn: TARGET_ARN, input: { release: 'r1', images: { app: 'repo/app:r1' } }, status: 'FAILED' },
        { arn: `${TARGET_ARN}-2`, input: { release: 'r2', images: { app: 'repo/app:r2' } } },
      ]);

      // Act
      const planned = plan(event(rollback), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      await expect(planned).rejects.toThrow(
        'input.rollbackTo: release "r1" never succeeded: no SUCCEEDED execution of this state machine released it, among the newest 2 succeeded ones',
      );
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    });

    it(`looks through at most ${ROLLBACK_SEARCH_LIMIT} succeeded executions`, async () => {
      // Prepare
      releasedTwice();
      succeeded(
        Array.from({ length: ROLLBACK_SEARCH_LIMIT + 50 }, (_, index) => ({
          arn: `${TARGET_ARN}-${index}`,
          input: { release: index === ROLLBACK_SEARCH_LIMIT + 10 ? 'r1' : `other-${index}`, images: {} },
        })),
      );

      // Act
      const planned = plan(event(rollback), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(`among the newest ${ROLLBACK_SEARCH_LIMIT} succeeded ones`);
      expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, ROLLBACK_SEARCH_LIMIT);
    });

    it('refuses to roll back to a rollback, naming the release it went back to', async () => {
      // Prepare
      releasedTwice();
      succeeded([{ arn: TARGET_ARN, input: { release: 'r1', rollbackTo: 'r0' } }]);

      // Act
      const planned = plan(event(rollback), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(
        'input.rollbackTo: release "r1" was itself a rollback to release "r0"',
      );
      await expect(planned).rejects.toThrow('give rollbackTo "r0"');
    });

    it('names every revision that is missing: deregistered, deleted, untagged; and an environment it never reached', async () => {
      // Prepare
      releasedTwice();
      const recorded = recordedPlan(['us', 'eu']);
      recorded.services.eu.worker = [1, 7];
      succeeded([
        {
          arn: TARGET_ARN,
          input: { release: 'r1', images: { app: 'repo/app:r1' } },
          output: { plan: recorded },
        },
      ]);
      const deregistered = store.find('us-web:2');
      if (deregistered) deregistered.definition.status = 'INACTIVE';
      const untagged = store.find('eu-web:2');
      if (untagged) untagged.tags = [];

      // Act
      const planned = plan(event(rollback), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      const message = await planned.then(
        () => '',
        (error: Error) => error.message,
      );
      expect(message).toContain(`input.rollbackTo: cannot roll back to release r1 (${TARGET_ARN})`);
      expect(message).toContain(
        'us/web: us-web:2, the revision release r1 deployed, was deregistered (status INACTIVE)',
      );
      expect(message).toContain(
        'eu/web: no ACTIVE revision of eu-web among its newest 50 is tagged stepdeploy:release=r1',
      );
      expect(message).toContain(
        'eu/worker: eu-worker:7, the revision release r1 deployed, no longer exists in eu-west-1',
      );
      expect(message).toContain(
        'au: release r1 was not deployed to this environment (it went to us, eu); leave au out of input.environments',
      );
      expect(message.match(/^ {2}au:/gm)).toHaveLength(1);
      expect(message).not.toContain('us/worker');
      expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
      expect(codedeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
    });

    it.each([
      {
        input: { release: 'r3', rollbackTo: 'r1', images: { app: IMAGE } },
        message:
          'input.images: a rollback deploys the revisions release "r1" registered, with their images; leave images out',
      },
      {
        input: { release: 'r3', rollbackTo: 'r1', skipMigrations: true },
        message: 'input.skipMigrations: a rollback runs no migrations and no steps; leave skipMigrations out',
      },
      {
        input: { release: 'r3', rollbackTo: 'r3' },
        message:
          'input.rollbackTo: names this run\'s own release "r3"; name the earlier release to deploy again',
      },
      {
        input: { release: 'r3', rollbackTo: 'r 1' },
        message: 'input.rollbackTo: "r 1" is not a release name; name the earlier release to roll back to',
      },
      {
        input: { release: 'r3', rollbackTo: 1 },
        message: 'input.rollbackTo: expected the name of the earlier release to roll back to',
      },
      {
        input: { release: 'r3' },
        message:
          'input.images: required: map each container to the image to roll out, e.g. {"app": "repo/app:tag"}; or give rollbackTo',
      },
    ])('refuses $input: $message', async ({ input, message }) => {
      // Act
      const planned = plan(event(input), { clients, clock: fakeClock(), config });

      // Assess
      await expect(planned).rejects.toThrow(ValidationError);
      await expect(planned).rejects.toThrow(message);
      expect(sfn).not.toHaveReceivedAnyCommand();
    });
  });
});
