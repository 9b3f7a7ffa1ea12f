import { describe, expect, it } from 'vitest';
import {
  clientTokenOf,
  deploymentMarker,
  parseMarker,
  rollbackMarker,
  runIdOf,
} from '../../../lambdas/shared/markers.js';

describe('markers', () => {
  it('makes a startedBy ECS accepts', () => {
    const runId = runIdOf('arn:aws:states:us-east-1:123456789012:execution:Deploy:2026-11-26.3');
    expect(runId).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
    expect(runId).toHaveLength(36);
  });

  it('keeps the client token stable across retries and distinct across tasks', () => {
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:Deploy:r1';
    expect(clientTokenOf(arn, 'migrate', 'us', 'migrate')).toBe(
      clientTokenOf(arn, 'migrate', 'us', 'migrate'),
    );
    expect(clientTokenOf(arn, 'migrate', 'us', 'migrate')).not.toBe(
      clientTokenOf(arn, 'migrate', 'eu', 'migrate'),
    );
    expect(clientTokenOf(arn, 'migrate', 'us', 'migrate').length).toBeLessThanOrEqual(64);
  });

  it.each([
    [
      deploymentMarker('2026-11-26.3', 'us', 'web'),
      { release: '2026-11-26.3', environment: 'us', service: 'web', rollback: false },
    ],
    [
      rollbackMarker('r_1', 'eu', 'worker'),
      { release: 'r_1', environment: 'eu', service: 'worker', rollback: true },
    ],
    ['deployed by hand', undefined],
  ])('parses %s', (description, expected) => {
    expect(parseMarker(description)).toEqual(expected);
  });
});
