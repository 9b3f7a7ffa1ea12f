import { describe, expect, it } from 'vitest';
import { executionHistory, waitForExecutionEnd } from '../../examples/demo/sample-aws.js';
import { awsCliOutput } from '../aws-cli.js';
import { busEvents, useSampleAws } from './harness.js';

/** The operations a run calls once it starts something: none may be called for a refused input. */
const STARTING_OPERATIONS = [
  'ecs.RegisterTaskDefinition',
  'ecs.RunTask',
  'codedeploy.CreateDeployment',
  'codedeploy.StopDeployment',
];

describe('a malformed execution input, whatever its JSON type', () => {
  const aws = useSampleAws();

  it.each([
    { input: '[]', got: 'got []' },
    { input: '"x"', got: 'got "x"' },
    { input: '42', got: 'got 42' },
    { input: 'null', got: 'got null' },
    { input: '{}', got: 'input.release: required' },
  ])(
    'start-execution --input $input ends FAILED naming the problem and the fix, announces Release Failed, starts nothing',
    async ({ input, got }) => {
      // Prepare
      const { endpoint, stateMachineArn } = aws();
      const name = `malformed-${Buffer.from(input).toString('hex')}`;

      // Act: as an operator would start it.
      const stdout = await awsCliOutput(endpoint, [
        '--output',
        'json',
        'stepfunctions',
        'start-execution',
        '--state-machine-arn',
        stateMachineArn,
        '--name',
        name,
        '--input',
        input,
      ]);
      const { executionArn } = JSON.parse(stdout) as { executionArn: string };
      const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

      // Assess: the Fail state says what is wrong and what the input takes.
      expect(end.status).toBe('FAILED');
      expect(end.error).toBe('ValidationError');
      expect(end.cause).toContain(got);
      expect(end.cause).toMatch(/release/);
      const events = await executionHistory(aws().clients.sfn, executionArn);
      expect(events.some((event) => event.stateEnteredEventDetails?.name === 'Announce')).toBe(true);
      const announced = (await busEvents(aws())).filter(
        (event) =>
          event.source === 'stepdeploy' &&
          (event.detail as { executionArn?: string }).executionArn === executionArn,
      );
      expect(announced.map((event) => event['detail-type'])).toEqual(['Release Failed']);
      const calls = aws().local.callCounts();
      expect(STARTING_OPERATIONS.filter((operation) => calls[operation])).toEqual([]);
    },
  );
});
