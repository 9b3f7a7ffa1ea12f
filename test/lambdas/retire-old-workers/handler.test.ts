import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/retire-old-workers/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config, plan } from '../shared/deployment-fixtures.js';
import { captureLogLines } from '../shared/log-lines.js';

const codedeploy = mockClient(CodeDeployClient);
const ssm = mockClient(SSMClient);

describe('retire-old-workers handler', () => {
  beforeEach(() => {
    codedeploy.reset();
    serveConfig(ssm, config);
  });

  it('refuses a plan whose next revision is not family:revision, naming the field', async () => {
    // Prepare
    const broken = { ...plan, services: { us: { worker: [4, 'latest'] } } };

    // Act
    const attempt = handler({ state: { plan: broken } });

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.state\.plan\.services\.us\.worker\[1\]/);
  });

  it('does nothing for workers the run made no deployment for', async () => {
    // Act
    const report = await handler({ state: { plan } });

    // Assess
    expect(report.workers).toEqual([
      { environment: 'us', service: 'worker', action: 'none', reason: 'the run made no deployment for it' },
      { environment: 'eu', service: 'worker', action: 'none', reason: 'the run made no deployment for it' },
    ]);
  });

  it("logs each worker's action and its reason", async () => {
    // Prepare
    const lines = captureLogLines();

    // Act
    await handler({ state: { plan } }, { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 });

    // Assess
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'us/worker: nothing to do: the run made no deployment for it',
        environment: 'us',
        service: 'worker',
        action: 'none',
        reason: 'the run made no deployment for it',
        release: 'r1',
      }),
      expect.objectContaining({ message: 'eu/worker: nothing to do: the run made no deployment for it' }),
      expect.objectContaining({ message: '0 of 2 worker deployments retired their old tasks', retired: 0 }),
    ]);
  });
});
