import { describe, expect, it } from 'vitest';
import { clusterOfTaskArn } from '../../cli/follow-run.js';
import { parseSince } from '../../cli/tail-deploy.js';

const NOW = Date.parse('2026-11-26T08:00:00Z');

describe('parseSince', () => {
  it.each([
    ['90s', NOW - 90_000],
    ['10m', NOW - 600_000],
    ['2h', NOW - 7_200_000],
    ['1d', NOW - 86_400_000],
    ['1.5h', NOW - 5_400_000],
    ['2026-11-26T07:30:00Z', Date.parse('2026-11-26T07:30:00Z')],
    ['2026-11-26', Date.parse('2026-11-26')],
  ])('reads %s', (value, expected) => {
    expect(parseSince(value, NOW)).toBe(expected);
  });

  it.each(['yesterday', '10', '-5m', '2026-13-45'])('refuses %s, naming the forms it takes', (value) => {
    expect(() => parseSince(value, NOW)).toThrow(
      /--since takes a duration \(90s, 10m, 2h, 1d\) or an ISO time/,
    );
  });
});

describe('clusterOfTaskArn', () => {
  it.each([
    ['arn:aws:ecs:eu-west-1:123456789012:task/stepdeploy-demo-eu/70a8f62a4060', 'stepdeploy-demo-eu'],
    ['arn:aws:ecs:eu-west-1:123456789012:task/70a8f62a4060', 'default'],
  ])('%s is in cluster %s', (arn, cluster) => {
    expect(clusterOfTaskArn(arn)).toBe(cluster);
  });
});
