import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { type Measurement, type Verdict, verdictOf } from './figure.js';
import type { FigureEntry } from './registry.js';
import { renderTable } from './table.js';

/** Options of one bench run. */
export interface BenchOptions {
  figures: readonly FigureEntry[];
  repoRoot: string;
  quick: boolean;
  /** Where the JSON results go. */
  resultsPath: string;
  /** The table goes here. */
  out: NodeJS.WritableStream;
  /** Progress lines go here. */
  err: NodeJS.WritableStream;
}

/** What `bench/results.json` holds. */
export interface BenchResults {
  generatedAt: string;
  node: string;
  platform: string;
  cpus: number;
  quick: boolean;
  /** The machine's 1-minute load average when each figure started: timings on a busy machine run long. */
  loadAverages: Record<string, number>;
  figures: Verdict[];
}

/**
 * Runs the figures one after the other (they share two cores; running them together
 * would skew the timings), prints the table and writes the JSON. A figure that throws
 * becomes a row without a value whose note carries the error, and the run goes on.
 */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const measurements: Measurement[] = [];
  const log = (line: string) => options.err.write(`${line}\n`);
  const loadAverages: Record<string, number> = {};
  for (const entry of options.figures) {
    loadAverages[entry.id] = Math.round(loadavg()[0] * 100) / 100;
    log(`figure ${entry.id} (${entry.slug}): ${entry.title} [load average ${loadAverages[entry.id]}]`);
    const started = performance.now();
    try {
      const figure = await entry.load();
      const rows = await figure.run({ repoRoot: options.repoRoot, quick: options.quick, log });
      measurements.push(...rows);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`figure ${entry.id} failed: ${error instanceof Error && error.stack ? error.stack : message}`);
      measurements.push({
        figure: entry.id,
        name: entry.title,
        workload: '-',
        value: null,
        unit: '',
        note: `failed: ${message.split('\n')[0]}`,
      });
    }
    log(`figure ${entry.id} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const figures = measurements.map(verdictOf);
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    quick: options.quick,
    loadAverages,
    figures,
  };
  options.out.write(renderTable(figures));
  const loads = Object.entries(loadAverages).map(([id, load]) => `${id}: ${load}`);
  options.out.write(
    `\nload average (1 min) as each figure started, ${availableParallelism()} CPUs: ${loads.join(', ')}\n`,
  );
  await mkdir(dirname(options.resultsPath), { recursive: true });
  await writeFile(options.resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}
