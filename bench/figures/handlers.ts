import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_BUNDLING, handlerEsbuildOptions } from '../../infra/handler-bundling.js';
import { CONFIG_PATH_ENV } from '../../lambdas/shared/config.js';
import type { Figure, FigureContext, Measurement } from '../figure.js';
import { runProcess, tailOf } from '../processes.js';
import { median, round } from '../stats.js';

/** Target of figure 5: a minified handler bundle stays within 250 KB. */
export const BUNDLE_TARGET_KB = 250;
/** Target of figure 5: importing a handler bundle in a fresh Node process takes at most 150 ms. */
export const INIT_TARGET_MS = 150;

/** How a handler is bundled and run. */
export interface BundleVariant {
  format: 'esm' | 'cjs';
  /** A source map beside the bundle, and the function runs with `--enable-source-maps`. */
  sourceMap: boolean;
}

/** What the construct's NodejsFunction does: {@link HANDLER_BUNDLING}. */
export const CONSTRUCT_BUNDLING: BundleVariant = {
  format: HANDLER_BUNDLING.format,
  sourceMap: HANDLER_BUNDLING.sourceMap,
};

/**
 * The same with ESM output, as the construct bundled before: Node then loads the AWS SDK's
 * ESM builds, hundreds of files, instead of its single-file CommonJS builds.
 */
export const ESM_BUNDLING: BundleVariant = { format: 'esm', sourceMap: HANDLER_BUNDLING.sourceMap };

/** The handler entry points: `lambdas/<verb>/handler.ts`, by verb, sorted. */
export async function findHandlers(repoRoot: string): Promise<Array<{ verb: string; entry: string }>> {
  const lambdas = join(repoRoot, 'lambdas');
  const found: Array<{ verb: string; entry: string }> = [];
  for (const dirent of await readdir(lambdas, { withFileTypes: true })) {
    if (!dirent.isDirectory()) continue;
    const entry = join(lambdas, dirent.name, 'handler.ts');
    if (
      await stat(entry).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      found.push({ verb: dirent.name, entry });
  }
  return found.sort((a, b) => a.verb.localeCompare(b.verb));
}

/**
 * Bundles one handler with the construct's esbuild options ({@link handlerEsbuildOptions}),
 * in the variant's format and with or without its source map. The output lands under the
 * repository's `node_modules/.cache` so the SDK it imports resolves as in Lambda; a CommonJS
 * bundle is named `.cjs` there (NodejsFunction's `index.js`) because the repository's
 * package.json declares ESM.
 */
export async function bundleHandler(
  repoRoot: string,
  verb: string,
  entry: string,
  outRoot = join(repoRoot, 'node_modules', '.cache', 'stepdeploy-bench'),
  variant: BundleVariant = CONSTRUCT_BUNDLING,
): Promise<string> {
  const outdir = join(outRoot, variant === CONSTRUCT_BUNDLING ? verb : `${verb}-${variant.format}`);
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, variant.format === 'esm' ? 'index.mjs' : 'index.cjs');
  await build({
    ...handlerEsbuildOptions(entry, outfile),
    format: variant.format,
    sourcemap: variant.sourceMap,
    // ESM bundles of CommonJS dependencies need `require`; NodejsFunction users add the same banner.
    banner:
      variant.format === 'esm'
        ? { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" }
        : undefined,
    logLevel: 'silent',
  });
  return outfile;
}

// Times the import alone, inside the fresh process: what a Lambda cold start adds to the
// runtime's own start-up is the loading of the function's module and what it imports.
const IMPORT_TIMER =
  'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t));';

/** Milliseconds one fresh `node` process takes to import the bundle. */
export async function coldInitMs(
  repoRoot: string,
  bundle: string,
  variant: BundleVariant = CONSTRUCT_BUNDLING,
): Promise<number> {
  const result = await runProcess(process.execPath, ['--input-type=module', '-e', IMPORT_TIMER, bundle], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      // As the construct sets it; the handlers read the configuration on their first call, not at import.
      [CONFIG_PATH_ENV]: '/stepdeploy/bench',
      // As the construct sets it on every function.
      NODE_OPTIONS: variant.sourceMap ? HANDLER_BUNDLING.nodeOptions : '',
    },
    timeoutMs: 30_000,
  });
  const ms = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isFinite(ms)) {
    throw new Error(`importing ${bundle} failed (exit ${result.code}):\n${tailOf(result.stderr)}`);
  }
  return ms;
}

/** The AWS SDK packages a bundle loads from the runtime (`@aws-sdk/*` is external). */
export function sdkPackagesOf(bundleText: string): string[] {
  return [
    ...new Set([...bundleText.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((match) => match[1])),
  ].sort();
}

/**
 * The floor of the cold init with the SDK left to the runtime: the SDK packages of the handler
 * that loads the fewest, imported alone in a fresh `node` (a module that requires them and
 * nothing else).
 */
async function sdkFloor(
  context: FigureContext,
  samples: number,
  bundles: ReadonlyArray<{ verb: string; bundle: string }>,
): Promise<Measurement> {
  const loads = await Promise.all(
    bundles.map(async ({ verb, bundle }) => ({
      verb,
      bundle,
      packages: sdkPackagesOf(await readFile(bundle, 'utf8')),
    })),
  );
  const [fewest] = loads.sort((a, b) => a.packages.length - b.packages.length);
  const module = join(dirname(dirname(fewest.bundle)), 'sdk-floor.cjs');
  await writeFile(module, fewest.packages.map((name) => `require(${JSON.stringify(name)});`).join('\n'));
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await coldInitMs(context.repoRoot, module));
  context.log(`  SDK packages of ${fewest.verb} alone: init ${times.map((t) => t.toFixed(0)).join('/')} ms`);
  return {
    figure: '5',
    name: `cold init ${fewest.verb}'s SDK packages alone`,
    workload: `${fewest.packages.join(', ')} (the fewest of any handler), imported in a fresh node, median of ${samples}`,
    value: round(median(times)),
    unit: 'ms',
    note: 'the floor of every handler above while the runtime provides the SDK',
  };
}

/** Figure 5: per handler, the minified bundle size and the median cold init of 5 fresh imports. */
export const handlersFigure: Figure = {
  id: '5',
  slug: 'handlers',
  title: 'Lambda handler bundle size and cold init',
  async run(context: FigureContext): Promise<Measurement[]> {
    const handlers = await findHandlers(context.repoRoot);
    if (handlers.length === 0) throw new Error('no lambdas/<verb>/handler.ts found: nothing to bundle.');
    const samples = context.quick ? 3 : 5;
    const rows: Measurement[] = [];
    const bundles: Array<{ verb: string; bundle: string }> = [];
    for (const { verb, entry } of handlers) {
      const bundle = await bundleHandler(context.repoRoot, verb, entry);
      bundles.push({ verb, bundle });
      const sizeKb = (await stat(bundle)).size / 1024;
      const times: number[] = [];
      for (let i = 0; i < samples; i++) times.push(await coldInitMs(context.repoRoot, bundle));
      context.log(`  ${verb}: ${sizeKb.toFixed(1)} KB, init ${times.map((t) => t.toFixed(0)).join('/')} ms`);
      rows.push(
        {
          figure: '5',
          name: `bundle size ${verb}`,
          workload: `esbuild as the construct: minify, keep names, ${HANDLER_BUNDLING.target}, ${HANDLER_BUNDLING.format}, source map, @aws-sdk/* external`,
          value: round(sizeKb),
          unit: 'KB',
          target: { max: BUNDLE_TARGET_KB },
        },
        {
          figure: '5',
          name: `cold init ${verb}`,
          workload: `import in a fresh node ${process.version}, median of ${samples}`,
          value: round(median(times)),
          unit: 'ms',
          target: { max: INIT_TARGET_MS },
        },
      );
    }
    rows.push(await sdkFloor(context, samples, bundles));
    // The logger's share, measured on the same machine and load as the handlers: the logging
    // helper (Powertools' logger and its formatter) bundled and imported alone. It is an upper
    // bound: alone it also loads the Node modules (streams, console) the SDK loads anyway.
    const helper = await bundleHandler(
      context.repoRoot,
      'logging-helper',
      join(context.repoRoot, 'lambdas', 'shared', 'logging.ts'),
    );
    const helperTimes: number[] = [];
    for (let i = 0; i < samples; i++) helperTimes.push(await coldInitMs(context.repoRoot, helper));
    const helperKb = (await stat(helper)).size / 1024;
    context.log(
      `  logging helper: ${helperKb.toFixed(1)} KB, init ${helperTimes.map((t) => t.toFixed(0)).join('/')} ms`,
    );
    rows.push(
      {
        figure: '5',
        name: 'bundle size logging helper alone',
        workload: 'lambdas/shared/logging.ts (Powertools logger 2.36.0), bundled as a handler',
        value: round(helperKb),
        unit: 'KB',
        note: "part of every handler's bundle above",
      },
      {
        figure: '5',
        name: 'cold init logging helper alone',
        workload: `same; import in a fresh node, median of ${samples}`,
        value: round(median(helperTimes)),
        unit: 'ms',
        note: 'at most what the logger adds to a handler: alone it also loads what the SDK loads anyway',
      },
    );
    // What the cold init would be with ESM output, on the handler the run calls most: the
    // evidence for the construct's choice of CommonJS, next to its own figures.
    const [sample] = handlers.filter((handler) => handler.verb === 'check-tasks');
    if (sample) {
      const bundle = await bundleHandler(
        context.repoRoot,
        sample.verb,
        sample.entry,
        undefined,
        ESM_BUNDLING,
      );
      const times: number[] = [];
      for (let i = 0; i < samples; i++) times.push(await coldInitMs(context.repoRoot, bundle, ESM_BUNDLING));
      context.log(`  ${sample.verb} (esm): init ${times.map((t) => t.toFixed(0)).join('/')} ms`);
      rows.push({
        figure: '5',
        name: `cold init ${sample.verb}, esm`,
        workload: `variant: format esm, source map; fresh node, median of ${samples}`,
        value: round(median(times)),
        unit: 'ms',
        target: { max: INIT_TARGET_MS },
        note: 'not what the construct ships: shows what ESM output would change',
      });
    }
    rows.push(...(await packageSize(context)));
    return rows;
  },
};

/** What `npm pack` would publish, from the `dist/` that `npm run build:package` (and `npm ci`) builds. */
interface PackSummary {
  size: number;
  unpackedSize: number;
  entryCount: number;
}

/** Figure 5's package rows: the tarball and unpacked size of what `npm pack` puts in the package. */
async function packageSize(context: FigureContext): Promise<Measurement[]> {
  const result = await runProcess('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: context.repoRoot,
    timeoutMs: 120_000,
  });
  if (result.code !== 0)
    throw new Error(`npm pack --dry-run failed (exit ${result.code}):\n${tailOf(result.stderr)}`);
  const [pack] = JSON.parse(result.stdout) as PackSummary[];
  context.log(`  package: ${(pack.size / 1024).toFixed(1)} KB packed, ${pack.entryCount} files`);
  const workload = `npm pack: compiled construct and CLI, ${pack.entryCount} files with the bundled handlers`;
  return [
    { figure: '5', name: 'package size, packed', workload, value: round(pack.size / 1024), unit: 'KB' },
    {
      figure: '5',
      name: 'package size, unpacked',
      workload,
      value: round(pack.unpackedSize / 1024),
      unit: 'KB',
    },
  ];
}
