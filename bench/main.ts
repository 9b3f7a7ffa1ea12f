/**
 * `npm run bench`: measures the figures of stepdeploy (state transitions, failure
 * reaction, orchestration overhead, tail-deploy, handler bundles, demo and synth),
 * prints them as a table and writes `bench/results.json`.
 *
 *   npm run bench                      every figure
 *   npm run bench -- --only 5          one figure, by id or name (comma-separated for several)
 *   npm run bench -- --quick           smaller workloads
 *   npm run bench -- --out file.json   write the results elsewhere
 */
import '../local/polyfills.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FIGURES, selectFigures } from './registry.js';
import { runBench } from './run.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `usage: npm run bench -- [--only <figure>[,<figure>...]] [--quick] [--out <results.json>]
figures: ${FIGURES.map((entry) => `${entry.id} (${entry.slug}) ${entry.title}`).join('; ')}`;

async function main(): Promise<number> {
  let values: { only?: string[]; quick?: boolean; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: 'string', multiple: true },
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let figures: ReturnType<typeof selectFigures>;
  try {
    figures = selectFigures(values.only);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 64;
  }
  const resultsPath = resolve(values.out ?? resolve(repoRoot, 'bench/results.json'));
  const results = await runBench({
    figures,
    repoRoot,
    quick: values.quick ?? false,
    resultsPath,
    out: process.stdout,
    err: process.stderr,
  });
  process.stderr.write(`results written to ${resultsPath}\n`);
  // A missed target is a finding, not a failure; a figure that could not run is.
  return results.figures.some((row) => row.value === null && row.note?.startsWith('failed')) ? 1 : 0;
}

process.exitCode = await main();
