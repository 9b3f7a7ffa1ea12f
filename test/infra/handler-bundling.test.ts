import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandlers } from '../../infra/bundle-handlers.js';
import { HANDLER_BUNDLING } from '../../infra/handler-bundling.js';
import { VERBS, type Verb } from '../../statemachine/handlers.js';

/** The SDK packages each handler calls; every one reads its configuration from SSM. */
const SDK_PACKAGES: Record<Verb, string[]> = {
  plan: ['client-codedeploy', 'client-ecs', 'client-sfn', 'client-ssm'],
  'start-tasks': ['client-ecs', 'client-ssm'],
  'check-tasks': ['client-ecs', 'client-ssm'],
  'stop-tasks': ['client-ecs', 'client-ssm'],
  'start-deployments': ['client-codedeploy', 'client-ssm'],
  'check-deployments': ['client-cloudwatch', 'client-codedeploy', 'client-ssm'],
  'cut-over': ['client-codedeploy', 'client-ssm'],
  'check-bake': ['client-cloudwatch', 'client-ssm'],
  'roll-back': ['client-codedeploy', 'client-ssm'],
  'check-rollbacks': ['client-codedeploy', 'client-ssm'],
  'retire-old-workers': ['client-codedeploy', 'client-ssm'],
  announce: ['client-eventbridge', 'client-ssm'],
  cleanup: ['client-codedeploy', 'client-ecs', 'client-sfn', 'client-ssm'],
};

let outdir: string;

beforeAll(async () => {
  // Inside the repository, so the bundle's SDK imports resolve as the Lambda runtime's would.
  const cache = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
  await mkdir(cache, { recursive: true });
  outdir = await mkdtemp(join(cache, 'stepdeploy-bundling-'));
});

afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
});

async function bundle(verb: Verb): Promise<{ outfile: string; sdkPackages: string[] }> {
  const [{ dir, metafile }] = await bundleHandlers(outdir, [verb]);
  const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
  const sdkPackages = [
    ...new Set(
      imports.filter((i) => i.external && i.path.startsWith('@aws-sdk/')).map((i) => i.path.slice(9)),
    ),
  ];
  return { outfile: join(dir, 'index.js'), sdkPackages: sdkPackages.sort() };
}

describe('handler bundling', () => {
  it.each([...VERBS])('bundles %s with only the SDK clients it calls, left to the runtime', async (verb) => {
    const { sdkPackages } = await bundle(verb);
    expect(sdkPackages).toEqual(SDK_PACKAGES[verb]);
  });

  it('bundles the logger into every handler, since the runtime ships only the SDK', async () => {
    const [{ metafile }] = await bundleHandlers(outdir, ['roll-back']);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContainEqual(expect.stringMatching(/node_modules\/@aws-lambda-powertools\/logger\//));
    expect(inputs).toContainEqual(expect.stringMatching(/lambdas\/shared\/logging\.ts$/));
    const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
    expect(
      imports.filter((i) => i.external && !i.path.startsWith('@aws-sdk/') && !i.path.startsWith('node:')),
    ).toEqual([]);
  });

  it('emits CommonJS that exports the handler, with a source map that names the TypeScript sources only', async () => {
    expect(HANDLER_BUNDLING.format).toBe('cjs');
    const { outfile } = await bundle('check-tasks');
    // The bundle's own package.json makes index.js CommonJS here too, as it is in Lambda.
    const required = createRequire(import.meta.url)(outfile) as { handler?: unknown };
    expect(typeof required.handler).toBe('function');
    const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources).toContainEqual(expect.stringMatching(/lambdas\/check-tasks\/core\.ts$/));
    expect(map.sourcesContent).toBeUndefined();
  });
});
