import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { fieldPath, PlanSchema, parseOrThrow } from '../../../lambdas/shared/schemas.js';

describe('fieldPath', () => {
  it.each([
    { path: [], expected: 'event' },
    { path: ['plan', 'environments', 1], expected: 'event.plan.environments[1]' },
    { path: ['images', 'app'], expected: 'event.images.app' },
  ])('renders $path as $expected', ({ path, expected }) => {
    expect(fieldPath('event', path)).toBe(expected);
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value', () => {
    expect(parseOrThrow(z.object({ a: z.number() }), { a: 1 }, 'event')).toEqual({ a: 1 });
  });

  it('names every bad field in one ValidationError', () => {
    // Prepare
    const plan = { release: 'r1', runId: 'has space', environments: ['us'], skipMigrations: 'no' };

    // Act
    const act = () => parseOrThrow(PlanSchema, plan, 'event.plan');

    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(/event\.plan\.runId: expected an ECS startedBy/);
    expect(act).toThrow(/event\.plan\.skipMigrations: /);
    expect(act).toThrow(/event\.plan\.startedAt: /);
  });

  it('names each unknown key of a strict object', () => {
    const act = () => parseOrThrow(z.strictObject({ a: z.number() }), { a: 1, b: 2, c: 3 }, 'input');
    expect(act).toThrow(/input\.b: .*\ninput\.c: /);
  });
});
