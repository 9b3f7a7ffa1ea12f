import { describe, expect, it } from 'vitest';
import {
  releaseNameAt,
  sampleTemplate,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { announcementsOf, expectEveryGroupOnPrevious, finalState, GROUPS, useSampleAws } from './harness.js';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** The construct's `deploymentTimeout` for the sample stack: 10 minutes, 6 s of real time at the tests' scale. */
const DEPLOYMENT_TIMEOUT_SECONDS = 600;

/** The sample template with the orchestrator's configuration saying `deploymentTimeout: Duration.minutes(10)`. */
function withDeploymentTimeout(seconds: number): Record<string, unknown> {
  const template = structuredClone(sampleTemplate()) as { Resources: Resources };
  let changed = 0;
  for (const resource of Object.values(template.Resources)) {
    const value = resource.Properties.Value;
    if (resource.Type !== 'AWS::SSM::Parameter' || typeof value !== 'string') continue;
    const next = value.replace(/"deploymentTimeoutSeconds":\d+/, `"deploymentTimeoutSeconds":${seconds}`);
    if (next !== value) changed++;
    resource.Properties.Value = next;
  }
  if (changed !== 1)
    throw new Error(`expected one configuration parameter with deploymentTimeoutSeconds, found ${changed}`);
  return template;
}

describe('a deployment still in flight at the deployment timeout', () => {
  // Shorter than CodeDeploy's own Install timeout (an hour) and than the run's timeout: the
  // construct's deploymentTimeout decides, as on AWS with unhealthy replacement tasks.
  const aws = useSampleAws({ template: withDeploymentTimeout(DEPLOYMENT_TIMEOUT_SECONDS) });

  it('fails the run naming the deployment, and rolls every group back to its previous revision', async () => {
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'eu', service: 'worker' });
    const release = releaseNameAt(new Date(), 'e2e-deploytimeout');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn, 120_000);

    expect(end.status).toBe('FAILED');
    expect(end.cause).toMatch(/deployment timeout of 10 minutes ran out/);
    expect(end.cause).toMatch(/eu\/worker/);
    const state = await finalState(aws(), executionArn);
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.rollback?.status).toBe('SUCCEEDED');
    expect(state.rollback?.rollbacks).toHaveLength(GROUPS.length);
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });
});
