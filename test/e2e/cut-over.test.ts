import { describe, expect, it } from 'vitest';
import {
  lifecycleOf,
  movedProductionTraffic,
  releaseDeployment,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { SAMPLE_WAVES } from '../../infra/sample-stack.js';
import { announcementsOf, expectEveryGroupOnPrevious, finalState, GROUPS, useSampleAws } from './harness.js';

/** The groups of the sample's second wave (`eu` and `au`), which cut over together. */
const SECOND_WAVE = GROUPS.filter(({ environment }) => SAMPLE_WAVES[environment] === 1);

describe('a wave that cuts over together', () => {
  const aws = useSampleAws();

  it('eu/web fails before Ready: every deployment of the wave is stopped with no production traffic moved, the canary rolled back', async () => {
    // AfterAllowTestTraffic comes before the ready wait: the replacement is up, production
    // traffic still on the original task set
    // (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html).
    aws().local.faults.add({
      kind: 'deployment-failure',
      environment: 'eu',
      service: 'web',
      lifecycleEvent: 'AfterAllowTestTraffic',
    });
    const release = releaseNameAt(new Date(), 'e2e-cutover');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    expect(`${end.error} ${end.cause}`).toMatch(/eu\/web/);
    const state = await finalState(aws(), executionArn);
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.deploy?.wave).toMatchObject({ index: 1, cutover: 'together' });
    // CutOver never ran: the wave failed before every deployment was Ready.
    expect(state.deploy?.wave?.cutOverAt).toBeUndefined();
    for (const { environment, service } of SECOND_WAVE) {
      const deployment = await releaseDeployment(aws().clients.codedeploy, release, environment, service);
      expect(deployment?.deploymentId, `${environment}/${service}`).toBeDefined();
      expect(deployment?.status, `${environment}/${service}`).toMatch(/^(Stopped|Failed)$/);
      expect(
        await movedProductionTraffic(aws().clients.codedeploy, deployment?.deploymentId ?? ''),
        `${environment}/${service} moved production traffic`,
      ).toBe(false);
      const rollback = state.rollback?.rollbacks.find(
        (r) => r.environment === environment && r.service === service,
      );
      // eu/web failed on its own (CodeDeploy rolls it back, or it never left its originals);
      // the others were stopped in their ready wait.
      expect(rollback?.action, `${environment}/${service}`).toMatch(
        environment === 'eu' && service === 'web' ? /^(adopt|none)$/ : /^stop$/,
      );
    }
    // The canary wave had moved its traffic: it is brought back too (rollbackScope 'all').
    for (const service of ['web', 'worker']) {
      const rollback = state.rollback?.rollbacks.find((r) => r.environment === 'us' && r.service === service);
      expect(rollback?.action, `us/${service}`).toMatch(/^(redeploy|stop)$/);
    }
    expect(state.rollback?.status).toBe('SUCCEEDED');
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });

  it('moves traffic on the second wave only once every one of its deployments is Ready', async () => {
    const release = releaseNameAt(new Date(), 'e2e-together');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    const { deploy } = await finalState(aws(), executionArn);
    expect(deploy?.wave).toMatchObject({ index: 1, cutover: 'together' });
    const cutOverAt = Date.parse(deploy?.wave?.cutOverAt ?? '');
    expect(cutOverAt).not.toBeNaN();
    const readyEnds: number[] = [];
    const trafficStarts: number[] = [];
    for (const { environment, service } of SECOND_WAVE) {
      const deployment = await releaseDeployment(aws().clients.codedeploy, release, environment, service);
      const events = await lifecycleOf(aws().clients.codedeploy, deployment?.deploymentId ?? '');
      const tested = events.get('AfterAllowTestTraffic')?.endTime;
      const shifted = events.get('AllowTraffic')?.startTime;
      expect(tested, `${environment}/${service} AfterAllowTestTraffic`).toBeInstanceOf(Date);
      expect(shifted, `${environment}/${service} AllowTraffic`).toBeInstanceOf(Date);
      readyEnds.push(tested?.getTime() ?? Number.NaN);
      trafficStarts.push(shifted?.getTime() ?? Number.NaN);
    }
    // No group of the wave began to move production traffic before the last one was Ready.
    expect(Math.min(...trafficStarts)).toBeGreaterThanOrEqual(Math.max(...readyEnds));
  });
});
