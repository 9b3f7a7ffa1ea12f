import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { clusterOf, configJsonBytes, deploymentIdsInHistory, tasksInHistory } from '../../bench/scenario.js';

const succeeded = (output: unknown): HistoryEvent => ({
  id: 1,
  timestamp: new Date(0),
  type: 'LambdaFunctionSucceeded',
  lambdaFunctionSucceededEventDetails: { output: JSON.stringify(output) },
});
const arn = (cluster: string, id: string) => `arn:aws:ecs:us-east-1:000000000000:task/${cluster}/${id}`;

describe('clusterOf', () => {
  it('reads the cluster of a task ARN', () => {
    expect(clusterOf(arn('bench-e01', 'abc'))).toBe('bench-e01');
  });

  it('refuses an ARN without a cluster', () => {
    expect(() => clusterOf('arn:aws:ecs:us-east-1:0:task/abc')).toThrow(/not an ECS task ARN with a cluster/);
  });
});

describe('tasksInHistory', () => {
  it('collects each task the phases started once, from every handler output that lists tasks', () => {
    const events = [
      succeeded({ release: 'r' }),
      succeeded({
        phase: 'migrate',
        tasks: [{ environment: 'e00', step: 'migrate', taskArn: arn('c', '1') }],
      }),
      // The check returns the same tasks again.
      succeeded({
        phase: 'migrate',
        tasks: [{ environment: 'e00', step: 'migrate', taskArn: arn('c', '1') }],
      }),
      succeeded({
        phase: 'post-deploy',
        tasks: [{ environment: 'e00', step: 'tag', taskArn: arn('c', '2') }],
      }),
    ];
    expect(tasksInHistory(events)).toEqual([
      { environment: 'e00', step: 'migrate', taskArn: arn('c', '1') },
      { environment: 'e00', step: 'tag', taskArn: arn('c', '2') },
    ]);
  });
});

describe('deploymentIdsInHistory', () => {
  it('is undefined until a handler returned the deployments, then lists their ids', () => {
    expect(deploymentIdsInHistory([succeeded({ release: 'r' })])).toBeUndefined();
    const deployments = { e00: { s00: 'd-1', s01: 'd-2' } };
    expect(deploymentIdsInHistory([succeeded({ deployments, status: 'RUNNING', failures: [] })])).toEqual([
      'd-1',
      'd-2',
    ]);
  });
});

describe('configJsonBytes', () => {
  it('counts the configuration with AWS-length ids and leaves the original alone', () => {
    const config = {
      environments: [{ network: { subnets: ['local-subnet-name-much-longer'], securityGroups: [] } }],
    };
    expect(configJsonBytes(config)).toBe(
      JSON.stringify({
        environments: [{ network: { subnets: ['subnet-00000000000000000'], securityGroups: [] } }],
      }).length,
    );
    expect(config.environments[0].network.subnets).toEqual(['local-subnet-name-much-longer']);
  });
});
