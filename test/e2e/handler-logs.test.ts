import { describe, expect, it } from 'vitest';
import { releaseNameAt, startRelease, waitForExecutionEnd } from '../../examples/demo/sample-aws.js';
import { awsCliOutput } from '../aws-cli.js';
import { useSampleAws } from './harness.js';

/** `aws logs tail <group>` against the local AWS, as an operator reads a handler's logs. */
async function tail(endpoint: string, group: string): Promise<string[]> {
  const stdout = await awsCliOutput(endpoint, ['logs', 'tail', group, '--since', '1h', '--format', 'short']);
  return stdout.split('\n').filter((line) => line !== '');
}

/** The JSON object of a `--format short` line (`<time> <message>`), if its message is one. */
function jsonOf(line: string): Record<string, unknown> | undefined {
  const message = line.slice(line.indexOf(' ') + 1);
  if (!message.startsWith('{')) return undefined;
  return JSON.parse(message) as Record<string, unknown>;
}

describe('handler logs', () => {
  const aws = useSampleAws();

  // `aws logs tail` pages FilterLogEvents over the group (awscli/customizations/logs/tail.py); Lambda
  // writes each function's lines to its LoggingConfig.LogGroup
  // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
  it("are in each function's own log group after a release, readable with aws logs tail", async () => {
    // Prepare
    const release = releaseNameAt(new Date(), 'e2e-logs');
    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);
    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    const groups = Object.fromEntries(
      aws()
        .local.lambdas.list()
        .map((fn) => [fn.verb, fn.logging?.logGroup]),
    );

    // Act
    const plan = await tail(aws().endpoint, String(groups.plan));
    const retire = await tail(aws().endpoint, String(groups['retire-old-workers']));

    // Assess
    expect(groups.plan).toMatch(/^\/stepdeploy\/.+\/plan$/);
    const planLines = plan.map(jsonOf).filter((line) => line !== undefined);
    const types = planLines.map((line) => line.type).filter(Boolean);
    expect(types).toEqual(['platform.start', 'platform.report']);
    const requestId = (planLines[0].record as { requestId: string }).requestId;
    const handlerLines = planLines.filter((line) => line.verb === 'plan');
    expect(handlerLines.length).toBeGreaterThan(1);
    for (const line of handlerLines) {
      expect(line).toMatchObject({ requestId, release, execution: executionArn, level: 'INFO' });
    }
    expect(handlerLines).toContainEqual(
      expect.objectContaining({ environment: 'eu', service: 'web', action: 'registered' }),
    );
    expect(handlerLines.at(-1)?.message).toMatch(/^planned us, eu, au: \d+ revisions registered, 0 reused$/);

    const workers = retire
      .map(jsonOf)
      .filter((line) => line?.verb === 'retire-old-workers' && line.action === 'continue-deployment');
    expect(workers.map((line) => line?.environment).sort()).toEqual(['au', 'eu', 'us']);
    expect(workers[0]?.reason).toBe('traffic moved; the termination wait was ended');

    const { calls } = (await (await fetch(`${aws().endpoint}/_local/calls`)).json()) as {
      calls: Record<string, number>;
    };
    expect(calls['logs.FilterLogEvents']).toBeGreaterThanOrEqual(2);
  });
});
