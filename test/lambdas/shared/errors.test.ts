import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as errors from '../../../lambdas/shared/errors.js';

type ErrorClass = new (message: string) => Error;

const errorClasses = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof errors.StepdeployError,
);

describe('error names', () => {
  it.each(errorClasses)('%s names itself for the Catch clauses', (className, ErrorClass) => {
    expect(new ErrorClass('boom').name).toBe(className);
    expect(Object.values(errors.ERROR_NAMES)).toContain(className);
  });

  it('survive minification, as the construct bundles the handlers', async () => {
    // Prepare
    const bundle = await build({
      entryPoints: [path.resolve('lambdas/shared/errors.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      write: false,
    });
    const code = bundle.outputFiles[0]?.text ?? '';

    // Act
    const minified: Record<string, unknown> = await import(
      `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`
    );

    // Assess
    const names = Object.values(minified).flatMap((value) => {
      if (typeof value !== 'function') return [];
      try {
        const error: unknown = new (value as ErrorClass)('boom');
        return error instanceof Error ? [error.name] : [];
      } catch {
        return [];
      }
    });
    expect(names.sort()).toEqual(
      errorClasses
        .map(([className]) => className)
        .concat('StepdeployError')
        .sort(),
    );
  });
});
