import { describe, expect, it } from 'vitest';
import { releaseNameAt, startRelease, waitForExecutionEnd } from '../../examples/demo/sample-aws.js';
import { expectEveryGroupOnPrevious, TIME_SCALE, useSampleAws } from './harness.js';

/**
 * The run's timeout, as the construct's `timeout` prop would set it: 20 s of real time at the
 * test's scale, long enough for the canary wave to deploy and bake and the second wave to start.
 */
const RUN_TIMEOUT_SECONDS = 20 * TIME_SCALE;

describe('a deployment that hangs past the run timeout', () => {
  const aws = useSampleAws({ runTimeoutSeconds: RUN_TIMEOUT_SECONDS });

  it('times the run out; the cleanup rolls every group back to its previous revision', async () => {
    aws().local.faults.add({ kind: 'deployment-hang', environment: 'eu', service: 'worker' });
    const release = releaseNameAt(new Date(), 'e2e-timeout');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn, 60_000);

    expect(end.status).toBe('TIMED_OUT');
    await aws().local.events.settle();
    await expectEveryGroupOnPrevious(aws(), executionArn, release);
  });
});
