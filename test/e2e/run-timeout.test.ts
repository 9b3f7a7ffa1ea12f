import { describe, expect, it } from 'vitest';
import {
  deploymentsOf,
  pollUntil,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { GROUPS, planOf, primaryRevision, TIME_SCALE, useSampleAws } from './harness.js';

/** The run's timeout, as the construct's `timeout` prop would set it: 12 s of real time at the test's scale. */
const RUN_TIMEOUT_SECONDS = 12 * TIME_SCALE;

describe('a deployment that hangs past the run timeout', () => {
  const aws = useSampleAws({ runTimeoutSeconds: RUN_TIMEOUT_SECONDS });

  it('times the run out; the cleanup rolls every group back to its previous revision', async () => {
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'eu', service: 'worker' });
    const release = releaseNameAt(new Date(), 'e2e-timeout');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn, 60_000);

    expect(end.status).toBe('TIMED_OUT');
    await aws().local.events.settle();
    const plan = await planOf(aws(), executionArn);
    for (const { environment, service } of GROUPS) {
      const previous = plan.services[environment]?.[service]?.previous;
      await pollUntil(`${environment}/${service} back on ${previous}`, async () => {
        const deployments = await deploymentsOf(aws().clients.codedeploy, environment, service);
        const inFlight = deployments.some((d) =>
          ['Created', 'Queued', 'InProgress', 'Ready'].includes(d.status ?? ''),
        );
        return !inFlight && (await primaryRevision(aws(), environment, service)) === previous
          ? true
          : undefined;
      });
      const ours = (await deploymentsOf(aws().clients.codedeploy, environment, service)).filter((d) =>
        d.description?.includes(`stepdeploy:${release}:${environment}/${service}`),
      );
      expect(ours.length, `${environment}/${service} deployments of the release`).toBeGreaterThan(0);
    }
  });
});
