import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { executionHistory, waitForExecutionEnd } from '../../examples/demo/sample-aws.js';
import { busEvents, useSampleAws } from './harness.js';

/** Debian's AWS CLI v2 (package awscli), not whichever `aws` comes first on PATH. */
const AWS_CLI = '/usr/bin/aws';

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
      const { stdout } = await promisify(execFile)(
        AWS_CLI,
        [
          '--endpoint-url',
          endpoint,
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
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
          encoding: 'utf8',
        },
      );
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
