import { createHash } from 'node:crypto';
import { CreateDeploymentCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import {
  DescribeStateMachineCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { releaseHistory } from '../../cli/release-history.js';
import {
  DEMO_ENVIRONMENTS,
  DEMO_SERVICES,
  deploymentsOf,
  iamReport,
  pollUntil,
  releaseNameAt,
  type SampleAws,
  setMigrationDelay,
  startRelease,
  waitForExecutionEnd,
  waitForState,
} from '../../examples/demo/sample-aws.js';
import { SAMPLE_PORTS } from '../../infra/sample-stack.js';
import type { Fault } from '../../local/faults.js';
import { GROUPS, primaryRevision, useSampleAws } from './harness.js';

/**
 * Actions the construct grants that no scenario below calls, per role (handler verb, or
 * `state machine`), each with the reason it stays. README and the fidelity ledger carry
 * the same list.
 */
const LAMBDA_LOGS =
  "Lambda writes the function's own log stream with its role; the local AWS does not run Lambda's log delivery";
const REVISION =
  'whether CreateDeployment also reads the application revision is not documented; the CDK and CodePipeline ECS deploy actions grant it, so it stays';
const HANDLER_LOGS = { 'logs:CreateLogStream': LAMBDA_LOGS, 'logs:PutLogEvents': LAMBDA_LOGS };
const REDEPLOY_READY_WAIT = {
  'codedeploy:ContinueDeployment':
    "ends the ready wait of a redeploy of the previous revision on a group of a wave cut over together; the scenarios here redeploy only the canary's groups, which have none; test/e2e/deploy-failures.test.ts runs that case",
};
const STATE_MACHINE_SERVICES =
  'Step Functions itself uses it for the execution logs (level ALL) and X-Ray tracing, which the local AWS does not model';
const KEPT_UNUSED: Record<string, Record<string, string>> = {
  announce: HANDLER_LOGS,
  'check-bake': HANDLER_LOGS,
  'check-deployments': HANDLER_LOGS,
  'check-rollbacks': { ...HANDLER_LOGS, ...REDEPLOY_READY_WAIT },
  'check-tasks': HANDLER_LOGS,
  cleanup: { ...HANDLER_LOGS, ...REDEPLOY_READY_WAIT, 'codedeploy:GetApplicationRevision': REVISION },
  'cut-over': HANDLER_LOGS,
  plan: {
    ...HANDLER_LOGS,
    'ecs:ListTagsForResource':
      'Plan describes task definitions with include TAGS; whether ECS authorizes that as ListTagsForResource is not documented, so it stays',
    'codedeploy:ContinueDeployment':
      "used when a release starts while an earlier release's deployments wait to terminate their original tasks; the scenarios here let every deployment settle first, test/e2e/previous-wait.test.ts runs that case and checks Plan's role used it",
  },
  'retire-old-workers': HANDLER_LOGS,
  'roll-back': { ...HANDLER_LOGS, 'codedeploy:GetApplicationRevision': REVISION },
  'start-deployments': {
    ...HANDLER_LOGS,
    'codedeploy:GetApplicationRevision': REVISION,
    'codedeploy:BatchGetDeployments':
      'read only when a group has an active deployment (its own, adopted on a retry); Plan refuses foreign ones first',
    ...Object.fromEntries(
      ['codedeploy:ListDeploymentTargets', 'codedeploy:BatchGetDeploymentTargets'].map((action) => [
        action,
        'read only to describe a foreign active deployment (whether it waits to terminate its original tasks); Plan refuses foreign ones first',
      ]),
    ),
  },
  'start-tasks': HANDLER_LOGS,
  'state machine': Object.fromEntries(
    [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ].map((action) => [action, STATE_MACHINE_SERVICES]),
  ),
  'stop-tasks': HANDLER_LOGS,
};

/** Waits until no deployment of the sample stack is in flight and every rule delivery has finished. */
async function quiet(aws: SampleAws): Promise<void> {
  await aws.local.events.settle();
  await pollUntil(
    'every deployment to settle',
    async () => {
      const groups = await Promise.all(
        DEMO_ENVIRONMENTS.flatMap((environment) =>
          DEMO_SERVICES.map((service) => deploymentsOf(aws.clients.codedeploy, environment, service)),
        ),
      );
      const inFlight = groups
        .flat()
        .some((d) => ['Created', 'Queued', 'InProgress', 'Ready'].includes(d.status ?? ''));
      return inFlight ? undefined : true;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await aws.local.events.settle();
}

/**
 * Runs a release with `faults` in force, after `before` and with `during` it what a
 * person does, until it ended and everything it set off is over; its status.
 */
async function release(
  aws: SampleAws,
  name: string,
  faults: Fault[],
  during: (executionArn: string, release: string) => Promise<void> = async () => {},
  before: () => Promise<void> = async () => {},
): Promise<string> {
  aws.local.faults.clear();
  aws.local.faults.add(faults);
  await before();
  const releaseName = releaseNameAt(new Date(), name);
  const executionArn = await startRelease(aws, releaseName);
  await during(executionArn, releaseName);
  const end = await waitForExecutionEnd(aws.clients.sfn, executionArn);
  aws.local.faults.clear();
  await quiet(aws);
  return end.status ?? 'UNKNOWN';
}

/** Rolls back to `target` (an execution input with rollbackTo) until it ended and everything it set off is over; its status. */
async function rollback(aws: SampleAws, name: string, target: string): Promise<string> {
  const started = await aws.clients.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: aws.stateMachineArn,
      name,
      input: JSON.stringify({ release: releaseNameAt(new Date(), name), rollbackTo: target }),
    }),
  );
  const end = await waitForExecutionEnd(aws.clients.sfn, started.executionArn ?? '');
  await quiet(aws);
  return end.status ?? 'UNKNOWN';
}

/**
 * Waits until, `hanging` being of the sample's second wave, the canary's (us) deployments of
 * `release` Succeeded and every other group of the second wave waits in Ready (it cuts over together).
 */
async function othersSucceeded(
  aws: SampleAws,
  release: string,
  hanging: { environment: string; service: string },
) {
  const others = GROUPS.filter(
    (g) => !(g.environment === hanging.environment && g.service === hanging.service),
  );
  await pollUntil('the canary to succeed and the rest of the second wave to wait in Ready', async () => {
    for (const { environment, service } of others) {
      const [latest] = await deploymentsOf(aws.clients.codedeploy, environment, service);
      const expected = environment === 'us' ? 'Succeeded' : 'Ready';
      if (!latest?.description?.includes(release) || latest.status !== expected) return undefined;
    }
    return true;
  });
}

/** Stops the latest deployment of a group, as someone would in the console. */
async function stopLatest(aws: SampleAws, environment: string, service: string): Promise<void> {
  const [latest] = await deploymentsOf(aws.clients.codedeploy, environment, service);
  await aws.clients.codedeploy.send(
    new StopDeploymentCommand({ deploymentId: latest?.deploymentId, autoRollbackEnabled: false }),
  );
}

/** A deployment of us/web that is not the release's (someone else's), left in flight by a hang fault. */
async function foreignDeployment(aws: SampleAws): Promise<void> {
  const revision = await primaryRevision(aws, 'us', 'web');
  const content = JSON.stringify({
    version: 0.0,
    Resources: [
      {
        TargetService: {
          Type: 'AWS::ECS::Service',
          Properties: {
            TaskDefinition: `arn:aws:ecs:us-east-1:000000000000:task-definition/${revision}`,
            LoadBalancerInfo: { ContainerName: 'app', ContainerPort: SAMPLE_PORTS.web },
          },
        },
      },
    ],
  });
  await aws.clients.codedeploy.send(
    new CreateDeploymentCommand({
      applicationName: 'stepdeploy-demo-us',
      deploymentGroupName: 'stepdeploy-demo-us-web',
      description: 'a hotfix, deployed by hand',
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: { content, sha256: createHash('sha256').update(content).digest('hex') },
      },
    }),
  );
}

describe('the permissions the construct grants, against what the scenarios use', () => {
  const aws = useSampleAws();

  it('leaves no granted action unused without a reason to keep it', async () => {
    // Act: the scenarios of the e2e suite, one after the other on one local AWS.
    const stop = (state: string) => async (executionArn: string) => {
      await waitForState(aws().clients.sfn, executionArn, state);
      await aws().clients.sfn.send(new StopExecutionCommand({ executionArn, cause: 'cancelled in a test' }));
    };
    const statuses: string[] = [];
    // A task fails to start: StartTasks stops the ones it started.
    statuses.push(
      await release(aws(), 'iam-start', [
        { kind: 'task-start-failure', environment: 'au', reason: 'RESOURCE:ENI' },
      ]),
    );
    // Slow migrations, so that a failure or a cancel finds the others still running.
    for (const environment of DEMO_ENVIRONMENTS)
      await setMigrationDelay(aws().clients.ecs, environment, 3000);
    // A migration exits 1: StopTasks stops its siblings.
    statuses.push(
      await release(aws(), 'iam-migrate', [
        { kind: 'task-exit', environment: 'eu', step: 'migrate', exitCode: 1 },
      ]),
    );
    // Cancelled during migrations: the cleanup stops the run's tasks.
    statuses.push(await release(aws(), 'iam-abort-migrate', [], stop('CheckMigrate')));
    for (const environment of DEMO_ENVIRONMENTS) await setMigrationDelay(aws().clients.ecs, environment, 0);
    // A deployment fails while the others are in flight: RollBack stops them.
    statuses.push(
      await release(aws(), 'iam-rollback', [
        {
          kind: 'deployment-failure',
          environment: 'eu',
          service: 'web',
          lifecycleEvent: 'AfterAllowTraffic',
        },
      ]),
    );
    // A deployment is stopped after the canary succeeded and the rest of its wave is Ready:
    // RollBack redeploys the canary and stops the others.
    statuses.push(
      await release(
        aws(),
        'iam-redeploy',
        [{ kind: 'deployment-hang', environment: 'eu', service: 'web' }],
        async (_, r) => {
          await othersSucceeded(aws(), r, { environment: 'eu', service: 'web' });
          await stopLatest(aws(), 'eu', 'web');
        },
      ),
    );
    // Cancelled during the second wave's deploy, the canary out: the cleanup stops and redeploys.
    statuses.push(
      await release(
        aws(),
        'iam-abort-deploy',
        [{ kind: 'deployment-hang', environment: 'au', service: 'web' }],
        async (arn, r) => {
          await othersSucceeded(aws(), r, { environment: 'au', service: 'web' });
          await stop('CheckDeploy')(arn);
        },
      ),
    );
    // Someone else's deployment is in flight: Plan refuses the release, naming it.
    statuses.push(
      await release(
        aws(),
        'iam-foreign',
        [{ kind: 'deployment-hang', environment: 'us', service: 'web' }],
        async (executionArn) => {
          await waitForExecutionEnd(aws().clients.sfn, executionArn);
          await stopLatest(aws(), 'us', 'web');
        },
        () => foreignDeployment(aws()),
      ),
    );
    // CutOver times out after continuing the second wave: its retry finds them moving traffic
    // (their targets past the ready wait) and continues nothing twice.
    statuses.push(
      await release(aws(), 'iam-cutover-retry', [{ kind: 'lambda-timeout', verb: 'cut-over', count: 1 }]),
    );
    // And a release that goes through.
    statuses.push(await release(aws(), 'iam-success', []));
    // A rollback to it: Plan reads the state machine's succeeded executions to find it.
    const [released] = (await releaseHistory(aws().clients.sfn, aws().stateMachineArn)).filter(
      (record) => record.outcome === 'succeeded',
    );
    statuses.push(await rollback(aws(), 'iam-back', released?.release ?? ''));
    const report = await iamReport(aws().endpoint);
    const roles = new Map<string, string>();
    for (const fn of aws().local.lambdas.list()) if (fn.roleArn) roles.set(fn.roleArn, fn.verb);
    const machine = await aws().clients.sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: aws().stateMachineArn }),
    );
    roles.set(machine.roleArn ?? '', 'state machine');

    // Assess
    expect(statuses).toEqual([
      'FAILED',
      'FAILED',
      'ABORTED',
      'FAILED',
      'FAILED',
      'ABORTED',
      'FAILED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    const rows: string[] = [];
    const notes: string[] = [];
    const note = (reason: string | undefined) => {
      if (!reason) return '?';
      if (!notes.includes(reason)) notes.push(reason);
      return String(notes.indexOf(reason) + 1);
    };
    const unexplained: string[] = [];
    const stale: string[] = [];
    for (const [roleArn, who] of [...roles].sort(([, a], [, b]) => (a < b ? -1 : 1))) {
      const { used, granted } = report.roles[roleArn] ?? { used: [], granted: [] };
      const unused = granted.filter((action) => !used.includes(action));
      const kept = KEPT_UNUSED[who] ?? {};
      unexplained.push(...unused.filter((action) => !kept[action]).map((action) => `${who}: ${action}`));
      stale.push(
        ...Object.keys(kept)
          .filter((action) => !unused.includes(action))
          .map((a) => `${who}: ${a}`),
      );
      rows.push(
        `| ${who} | ${used.join(', ')} | ${unused.map((action) => `${action} [${note(kept[action])}]`).join(', ')} |`,
      );
    }
    process.stdout.write(
      [
        '',
        '| role | actions used | granted but unused [why kept] |',
        '| --- | --- | --- |',
        ...rows,
        '',
        ...notes.map((reason, index) => `[${index + 1}] ${reason}`),
        '',
      ].join('\n'),
    );
    expect(unexplained, 'granted actions no scenario used and nothing explains').toEqual([]);
    expect(stale, 'actions explained as unused that a scenario did use').toEqual([]);
  }, 600_000);
});
