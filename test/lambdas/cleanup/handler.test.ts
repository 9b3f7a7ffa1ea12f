import { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambdas/cleanup/handler.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { serveConfig } from '../shared/config-parameters.js';
import { config } from '../shared/deployment-fixtures.js';

const sfn = mockClient(SFNClient);
const ssm = mockClient(SSMClient);
const ecs = mockClient(ECSClient);

const executionArn = 'arn:aws:states:eu-west-1:000000000000:execution:Deploy:r1';

function statusChange(detail: Record<string, unknown>) {
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      stateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:Deploy',
      status: 'TIMED_OUT',
      ...detail,
    },
  };
}

describe('cleanup handler', () => {
  beforeEach(() => {
    sfn.reset();
    ecs.reset();
    serveConfig(ssm, config);
  });

  it('refuses an event without an execution ARN, naming the field', async () => {
    // Act
    const attempt = handler(statusChange({ executionArn: 'Deploy:r1' }));

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(/event\.detail\.executionArn/);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('reads the execution in the Region of its ARN', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ executionArn, status: 'TIMED_OUT' });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });

    // Act
    const report = await handler(statusChange({ executionArn }));

    // Assess
    expect(report.executionStatus).toBe('TIMED_OUT');
    const region = await sfn.commandCalls(DescribeExecutionCommand)[0].thisValue.config.region();
    expect(region).toBe('eu-west-1');
  });
});
