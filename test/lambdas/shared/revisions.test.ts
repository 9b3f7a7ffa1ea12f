import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { deploymentIds, deploymentRefs, serviceRevision } from '../../../lambdas/shared/revisions.js';
import { config, plan } from './deployment-fixtures.js';

describe('serviceRevision', () => {
  it.each([
    { environment: 'us', service: 'web', which: 'previous', expected: 'us-web:4' },
    { environment: 'us', service: 'web', which: 'next', expected: 'us-web:5' },
    { environment: 'eu', service: 'worker', which: 'next', expected: 'eu-worker:5' },
  ] as const)('$environment/$service $which -> $expected', ({ environment, service, which, expected }) => {
    expect(serviceRevision(config, plan, environment, service, which)).toBe(expected);
  });

  it('names a service the configuration does not know', () => {
    const attempt = () => serviceRevision(config, plan, 'us', 'api', 'next');

    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/plan\.services\.us\.api: service "api" is not configured in environment "us"/);
  });

  it('names a service the plan has no revision for', () => {
    const attempt = () => serviceRevision(config, { services: { us: {} } }, 'us', 'web', 'previous');

    expect(attempt).toThrow(/plan\.services\.us\.web: the plan has no previous revision/);
  });
});

describe('deploymentRefs and deploymentIds', () => {
  const refs = [
    { environment: 'us', service: 'web', deploymentId: 'd-1' },
    { environment: 'us', service: 'worker', deploymentId: 'd-2' },
    { environment: 'eu', service: 'web', deploymentId: 'd-3' },
  ];

  it('keys the deployments by environment and service', () => {
    expect(deploymentIds(refs)).toEqual({ us: { web: 'd-1', worker: 'd-2' }, eu: { web: 'd-3' } });
  });

  it('lists them back in the same order', () => {
    expect(deploymentRefs(deploymentIds(refs))).toEqual(refs);
  });

  it('lists nothing for no deployments', () => {
    expect(deploymentRefs({})).toEqual([]);
  });
});
