import { StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import {
  deploymentsOf,
  pollUntil,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
  waitForState,
} from '../../examples/demo/sample-aws.js';
import { announcementsOf, expectEveryGroupOnPrevious, finalState, GROUPS, useSampleAws } from './harness.js';

describe('a deployment that fails', () => {
  const aws = useSampleAws();

  it('eu/web fails after the others shifted traffic: every group rolls back to its previous revision', async () => {
    // The last lifecycle event: the other groups have shifted their traffic by then.
    aws().local.faults.add({
      kind: 'deployment-failure',
      environment: 'eu',
      service: 'web',
      lifecycleEvent: 'AfterAllowTraffic',
    });
    const release = releaseNameAt(new Date(), 'e2e-deployfail');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    expect(`${end.error} ${end.cause}`).toMatch(/eu\/web/);
    const state = await finalState(aws(), executionArn);
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.rollback?.status).toBe('SUCCEEDED');
    expect(state.rollback?.rollbacks).toHaveLength(GROUPS.length);
    const shifted = state.rollback?.rollbacks.filter((r) => !(r.environment === 'eu' && r.service === 'web'));
    expect(
      shifted?.every((r) => r.action === 'stop' || r.action === 'redeploy' || r.action === 'adopt'),
    ).toBe(true);
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });

  it("eu/web fails and CodeDeploy's rollback of it fails too: the flow deploys eu/web's previous revision", async () => {
    aws().local.faults.add([
      { kind: 'deployment-failure', environment: 'eu', service: 'web', lifecycleEvent: 'AfterAllowTraffic' },
      { kind: 'rollback-failure', environment: 'eu', service: 'web' },
    ]);
    const release = releaseNameAt(new Date(), 'e2e-rbfail');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    const state = await finalState(aws(), executionArn);
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.rollback?.status).toBe('SUCCEEDED');
    const euWeb = state.rollback?.rollbacks.find((r) => r.environment === 'eu' && r.service === 'web');
    expect(euWeb).toMatchObject({ action: 'redeploy', status: 'Succeeded', back: true });
    const deployments = await deploymentsOf(aws().clients.codedeploy, 'eu', 'web');
    expect(deployments.filter((d) => d.rollbackOf !== undefined).map((d) => d.status)).toEqual(['Failed']);
    expect(deployments.find((d) => d.deploymentId === euWeb?.rollbackDeploymentId)?.description).toBe(
      `stepdeploy:${release}:eu/web:rollback`,
    );
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });

  it('eu/worker hangs: stopping the run past its deadline rolls every group back', async () => {
    // In the second wave: the canary's deployments are out, eu's and au's others wait in Ready.
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'eu', service: 'worker' });
    const release = releaseNameAt(new Date(), 'e2e-hang');
    const executionArn = await startRelease(aws(), release);
    await waitForState(aws().clients.sfn, executionArn, 'CheckDeploy');
    // The product has no per-deployment timeout below the run's own: the operator (or a
    // pipeline's timeout) stops the run once it is overdue; the cleanup rolls back.
    const others = GROUPS.filter((g) => !(g.environment === 'eu' && g.service === 'worker'));
    await pollUntil('the other deployments to shift traffic or wait in Ready', async () => {
      for (const { environment, service } of others) {
        const [latest] = await deploymentsOf(aws().clients.codedeploy, environment, service);
        if (
          !latest?.description?.includes(release) ||
          !['Ready', 'Succeeded', 'InProgress'].includes(latest.status ?? '')
        ) {
          return undefined;
        }
      }
      return true;
    });

    const [hanging] = await deploymentsOf(aws().clients.codedeploy, 'eu', 'worker');
    expect(hanging?.description).toContain(release);
    expect(hanging?.status).toBe('InProgress');

    await aws().clients.sfn.send(
      new StopExecutionCommand({
        executionArn,
        error: 'DeploymentTimeout',
        cause: 'eu/worker did not finish in time',
      }),
    );
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('ABORTED');
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
  });

  it('au/web stops after the canary Succeeded and its wave waits in Ready: the canary is redeployed, the wave stopped', async () => {
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'au', service: 'web' });
    const release = releaseNameAt(new Date(), 'e2e-latefail');
    const executionArn = await startRelease(aws(), release);
    const others = GROUPS.filter((g) => !(g.environment === 'au' && g.service === 'web'));
    // The canary (us) runs to Succeeded; the rest of the second wave waits in Ready for au/web.
    const expected = (environment: string) => (environment === 'us' ? 'Succeeded' : 'Ready');
    await pollUntil('the canary to succeed and the rest of its wave to wait in Ready', async () => {
      for (const { environment, service } of others) {
        const [latest] = await deploymentsOf(aws().clients.codedeploy, environment, service);
        if (!latest?.description?.includes(release) || latest.status !== expected(environment))
          return undefined;
      }
      return true;
    });
    const [hanging] = await deploymentsOf(aws().clients.codedeploy, 'au', 'web');
    expect(hanging?.status).toBe('InProgress');

    // As when someone stops it in the console: the run sees it Stopped and rolls everything back.
    await aws().clients.codedeploy.send(
      new StopDeploymentCommand({ deploymentId: hanging?.deploymentId, autoRollbackEnabled: false }),
    );
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status).toBe('FAILED');
    const state = await finalState(aws(), executionArn);
    expect(state.announce?.outcome).toBe('ROLLED_BACK');
    expect(state.rollback?.status).toBe('SUCCEEDED');
    for (const { environment, service } of others) {
      const rollback = state.rollback?.rollbacks.find(
        (r) => r.environment === environment && r.service === service,
      );
      expect(rollback?.action, `${environment}/${service}`).toBe(environment === 'us' ? 'redeploy' : 'stop');
    }
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Rolled Back',
    ]);
  });
});
