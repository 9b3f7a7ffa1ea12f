import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEMO_ENVIRONMENTS,
  releaseNameAt,
  startRelease,
  waitForExecutionEnd,
} from '../../examples/demo/sample-aws.js';
import {
  announcementsOf,
  appliedMigrations,
  GROUPS,
  imageOf,
  planOf,
  primaryRevision,
  useSampleAws,
} from './harness.js';

const MIGRATIONS = readdirSync(new URL('../../examples/demo/app/migrations', import.meta.url))
  .filter((name) => /^\d{3}-.*\.(sql|mjs)$/.test(name))
  .map((name) => name.replace(/\.(sql|mjs)$/, ''))
  .sort();

describe('a release to three environments', () => {
  const aws = useSampleAws();

  it('migrates every database, moves every service to the new revision and announces success', async () => {
    const release = releaseNameAt(new Date(), 'e2e-ok');

    const executionArn = await startRelease(aws(), release);
    const end = await waitForExecutionEnd(aws().clients.sfn, executionArn);

    expect(end.status, `${end.error}: ${end.cause}`).toBe('SUCCEEDED');
    const plan = await planOf(aws(), executionArn);
    for (const { environment, service } of GROUPS) {
      const revision = await primaryRevision(aws(), environment, service);
      expect(revision, `${environment}/${service}`).toBe(plan.services[environment]?.[service]?.next);
      expect(revision).not.toBe(plan.services[environment]?.[service]?.previous);
      expect(await imageOf(aws(), revision)).toBe(`stepdeploy-demo/app:${release}`);
    }
    for (const environment of DEMO_ENVIRONMENTS) {
      expect(appliedMigrations(aws().dataDir, environment), environment).toEqual(MIGRATIONS);
    }
    const announcements = await announcementsOf(aws(), release);
    expect(announcements.map((event) => event['detail-type'])).toEqual(['Release Succeeded']);
  });
});
