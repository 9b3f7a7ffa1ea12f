import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleHandler, ESM_BUNDLING, findHandlers, sdkPackagesOf } from '../../bench/figures/handlers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('handler bundles', () => {
  it('finds the handlers as lambdas/<verb>/handler.ts, not the shared folder', async () => {
    const handlers = await findHandlers(repoRoot);
    expect(handlers.length).toBeGreaterThan(0);
    for (const { verb, entry } of handlers) expect(entry).toBe(join(repoRoot, 'lambdas', verb, 'handler.ts'));
    expect(handlers.map((handler) => handler.verb)).not.toContain('shared');
  });

  it('bundles a handler as the construct does, CommonJS with its source map, into a module that exports the handler', async () => {
    const [first] = await findHandlers(repoRoot);
    // Its own output folder: the bench run of main.test.ts may be bundling at the same time.
    const outRoot = join(repoRoot, 'node_modules', '.cache', 'stepdeploy-bench-test');
    const bundle = await bundleHandler(repoRoot, first.verb, first.entry, outRoot);
    expect(bundle.endsWith('.cjs')).toBe(true);
    const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    const module = (await import(pathToFileURL(bundle).href)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  });

  it('reads the SDK packages a bundle leaves to the runtime: those of the clients its handler makes', async () => {
    const handlers = await findHandlers(repoRoot);
    const checkRollbacks = handlers.find((handler) => handler.verb === 'check-rollbacks');
    if (!checkRollbacks) throw new Error('no check-rollbacks handler');
    const outRoot = join(repoRoot, 'node_modules', '.cache', 'stepdeploy-bench-test');
    const bundle = await bundleHandler(repoRoot, checkRollbacks.verb, checkRollbacks.entry, outRoot);

    expect(sdkPackagesOf(await readFile(bundle, 'utf8'))).toEqual([
      '@aws-sdk/client-codedeploy',
      '@aws-sdk/client-ssm',
    ]);
  });

  it('bundles the ESM variant into a module that exports the handler', async () => {
    const [first] = await findHandlers(repoRoot);
    const outRoot = join(repoRoot, 'node_modules', '.cache', 'stepdeploy-bench-test');
    const bundle = await bundleHandler(repoRoot, first.verb, first.entry, outRoot, ESM_BUNDLING);
    expect(bundle.endsWith('.mjs')).toBe(true);
    const module = (await import(pathToFileURL(bundle).href)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  });
});
