import { describe, expect, it } from 'vitest';
import { type TailEvent, TailEventSchema } from '../../cli/events.js';
import { main as stepdeploy } from '../../cli/stepdeploy.js';
import {
  DEMO_ENVIRONMENTS,
  deploymentsOf,
  iamReport,
  releaseNameAt,
  type SampleAws,
  sampleTemplate,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { Capture } from '../cli/tail-deploy-world.js';
import { announcementsOf, finalState, planOf, useSampleAws } from './harness.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/**
 * The sample template with every deployment group keeping the original tasks `minutes` after
 * traffic moved (the sample's 5 minutes pass in 3 s at the tests' time scale; 2 hours take
 * 72 s), and, with `refuse`, the orchestrator configured `onPreviousTerminationWait: 'refuse'`.
 */
function withTerminationWait(minutes: number, refuse = false): Record<string, unknown> {
  const template = structuredClone(sampleTemplate()) as { Resources: Resources };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type === 'AWS::CodeDeploy::DeploymentGroup') {
      const blueGreen = resource.Properties.BlueGreenDeploymentConfiguration as {
        TerminateBlueInstancesOnDeploymentSuccess: { TerminationWaitTimeInMinutes: number };
      };
      blueGreen.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes = minutes;
    }
    const value = resource.Properties.Value;
    if (refuse && resource.Type === 'AWS::SSM::Parameter' && typeof value === 'string') {
      resource.Properties.Value = value.replace(
        '"onPreviousTerminationWait":"continue"',
        '"onPreviousTerminationWait":"refuse"',
      );
    }
  }
  return template;
}

/** Releases A and waits until it ended SUCCEEDED with its web deployments in their termination wait. */
async function releaseInItsWait(aws: SampleAws, name: string): Promise<Record<string, string>> {
  const executionArn = await startRelease(aws, name);
  const end = await waitForExecutionEnd(aws.clients.sfn, executionArn);
  expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
  const waiting: Record<string, string> = {};
  for (const environment of DEMO_ENVIRONMENTS) {
    const [latest] = await deploymentsOf(aws.clients.codedeploy, environment, 'web');
    expect(latest?.description).toBe(`stepdeploy:${name}:${environment}/web`);
    expect(latest?.status, `${environment}/web of ${name}`).toBe('InProgress');
    waiting[environment] = latest?.deploymentId ?? '';
  }
  return waiting;
}

/** `stepdeploy release` as a user types it, its NDJSON events parsed. */
async function release(aws: SampleAws, name: string): Promise<{ exitCode: number; events: TailEvent[] }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const exitCode = await stepdeploy(
    [
      'release',
      name,
      '--image',
      `app=stepdeploy-demo/app:${name}`,
      '--state-machine',
      aws.stateMachineArn,
      '--endpoint-url',
      aws.endpoint,
      '--json',
      '--poll-interval',
      '250',
    ],
    { stdout, stderr, env: {}, interrupts: () => () => undefined },
  );
  return { exitCode, events: stdout.lines.map((line) => TailEventSchema.parse(JSON.parse(line))) };
}

describe("a release while the previous release's deployments wait to terminate their original tasks", () => {
  const aws = useSampleAws({ template: withTerminationWait(120) });

  it('ends that wait, says so, and succeeds; nothing is refused', async () => {
    // Prepare: release A, whose web deployments keep their original tasks for 2 hours (72 s here).
    const a = releaseNameAt(new Date(), 'e2e-wait-a');
    const waiting = await releaseInItsWait(aws(), a);

    // Act: release B at once.
    const b = releaseNameAt(new Date(), 'e2e-wait-b');
    const { exitCode, events } = await release(aws(), b);

    // Assess
    expect(exitCode, JSON.stringify(events.at(-1))).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'summary', release: b, status: 'SUCCEEDED' });
    const ended = events.flatMap((event) =>
      event.type === 'termination-wait-ended' && event.service === 'web'
        ? [[event.environment, event.deploymentId, event.release]]
        : [],
    );
    expect(ended).toEqual(DEMO_ENVIRONMENTS.map((environment) => [environment, waiting[environment], a]));
    const summary = events.at(-1);
    const executionArn = summary?.type === 'summary' ? summary.executionArn : '';
    const plan = await planOf(aws(), executionArn);
    expect(plan.endedWaits?.find((wait) => wait.release === a)?.deployments).toMatchObject(
      Object.fromEntries(
        DEMO_ENVIRONMENTS.map((environment) => [environment, { web: waiting[environment] }]),
      ),
    );
    // A's deployments finished long before their 72 s wait was over: ContinueDeployment ended it.
    for (const environment of DEMO_ENVIRONMENTS) {
      const deployments = await deploymentsOf(aws().clients.codedeploy, environment, 'web');
      expect(deployments.find((d) => d.deploymentId === waiting[environment])?.status).toBe('Succeeded');
      expect(deployments[0]?.description).toBe(`stepdeploy:${b}:${environment}/web`);
    }
    expect((await finalState(aws(), executionArn)).error).toBeUndefined();
    expect((await announcementsOf(aws(), b)).map((event) => event['detail-type'])).toEqual([
      'Release Succeeded',
    ]);
    // The Plan role's grant of ContinueDeployment is what did it.
    const { roles } = await iamReport(aws().endpoint);
    const planRole = Object.entries(roles).find(([role]) => role.includes('DeployPlanRole'));
    expect(planRole?.[1].used).toContain('codedeploy:ContinueDeployment');
  }, 240_000);
});

describe("onPreviousTerminationWait 'refuse'", () => {
  const aws = useSampleAws({ template: withTerminationWait(120, true) });

  it('refuses the release before anything starts, naming the previous release and the command that ends its wait', async () => {
    // Prepare
    const a = releaseNameAt(new Date(), 'e2e-refuse-a');
    const waiting = await releaseInItsWait(aws(), a);

    // Act
    const b = releaseNameAt(new Date(), 'e2e-refuse-b');
    const { exitCode, events } = await release(aws(), b);

    // Assess
    expect(exitCode).toBe(1);
    const summary = events.at(-1);
    expect(summary).toMatchObject({ type: 'summary', status: 'FAILED', error: 'ForeignDeploymentError' });
    const cause = summary?.type === 'summary' ? (summary.cause ?? '') : '';
    expect(cause).toContain(`${waiting.eu} of stepdeploy release ${a} in its termination wait`);
    expect(cause).toContain(`aws deploy continue-deployment --deployment-id ${waiting.eu}`);
    expect(events.filter((event) => event.type === 'task-started')).toEqual([]);
    expect(events.filter((event) => event.type === 'termination-wait-ended')).toEqual([]);
    // The previous release's deployments still wait, untouched.
    for (const environment of DEMO_ENVIRONMENTS) {
      const [latest] = await deploymentsOf(aws().clients.codedeploy, environment, 'web');
      expect(latest?.deploymentId).toBe(waiting[environment]);
      expect(latest?.status).toBe('InProgress');
    }
  }, 240_000);
});
