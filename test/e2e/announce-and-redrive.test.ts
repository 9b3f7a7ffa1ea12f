import { RedriveExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import {
  executionHistory,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import { SAMPLE_WAVES } from '../../infra/sample-stack.js';
import { announcementsOf, expectOneOfEach, useSampleAws } from './harness.js';

// PutEvents reports an entry it could not put in FailedEntryCount instead of throwing; InternalFailure
// is retryable (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
describe('an announcement EventBridge does not take', () => {
  const aws = useSampleAws();

  it('is put again while its error is retryable: the run succeeds, announced once', async () => {
    aws().local.faults.add({ kind: 'put-events-entry-failure', source: 'stepdeploy', count: 2 });
    const release = releaseNameAt(new Date(), 'e2e-announce');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Succeeded',
    ]);
  });

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html: the
  // redrive continues from the unsuccessful step with its input; the steps that succeeded are not run again.
  it('fails the run instead of ending it as announced; a redrive then announces it, starting nothing twice', async () => {
    aws().local.faults.add({ kind: 'put-events-entry-failure', source: 'stepdeploy', count: 4 });
    const release = releaseNameAt(new Date(), 'e2e-redrive');
    const executionArn = await startRelease(aws(), release);
    const failed = await waitForExecutionEnd(aws().clients.sfn, executionArn);
    // The cleanup runs on FAILED: every deployment had succeeded, so it keeps them.
    await aws().local.events.settle();

    await aws().clients.sfn.send(new RedriveExecutionCommand({ executionArn }));
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('AnnouncementFailedError');
    expect(failed.cause).toMatch(
      /InternalFailure.*The run's outcome was not announced: Release .* succeeded/,
    );
    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    expect(end.redriveCount).toBe(1);
    expect((await announcementsOf(aws(), release)).map((event) => event['detail-type'])).toEqual([
      'Release Succeeded',
    ]);
    const entered = (await executionHistory(aws().clients.sfn, executionArn)).flatMap(
      (event) => event.stateEnteredEventDetails?.name ?? [],
    );
    for (const state of ['Plan', 'Migrate', 'PostDeploySteps']) {
      expect(
        entered.filter((name) => name === state),
        state,
      ).toHaveLength(1);
    }
    // Once per wave of the sample: the canary, then eu and au.
    const waves = new Set(Object.values(SAMPLE_WAVES)).size;
    for (const state of ['Deploy', 'RetireOldWorkers']) {
      expect(
        entered.filter((name) => name === state),
        state,
      ).toHaveLength(waves);
    }
    expect(entered.filter((name) => name === 'Announce')).toHaveLength(2);
    await expectOneOfEach(aws(), executionArn, release);
  });
});
