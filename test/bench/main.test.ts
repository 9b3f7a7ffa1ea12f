import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHandlers } from '../../bench/figures/handlers.js';
import { runProcess } from '../../bench/processes.js';
import type { BenchResults } from '../../bench/run.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bench = (args: string[]) =>
  runProcess(process.execPath, ['--import', 'tsx', 'bench/main.ts', ...args], {
    cwd: repoRoot,
    timeoutMs: 170_000,
  });

describe('npm run bench', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepdeploy-bench-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--only 5 measures every handler, prints the table and writes the results', async () => {
    const out = join(dir, 'results.json');
    const result = await bench(['--only', '5', '--quick', '--out', out]);
    expect(result.code, result.stderr).toBe(0);

    const results = JSON.parse(await readFile(out, 'utf8')) as BenchResults;
    const verbs = (await findHandlers(repoRoot)).map((handler) => handler.verb);
    expect(verbs.length).toBeGreaterThan(0);
    expect(results.quick).toBe(true);
    expect(results.loadAverages['5']).toBeGreaterThanOrEqual(0);
    expect(result.stdout).toMatch(/load average \(1 min\) as each figure started, \d+ CPUs: 5: /);
    expect(new Set(results.figures.map((row) => row.figure))).toEqual(new Set(['5']));
    // The SDK floor is named after the handler that loads the fewest SDK packages.
    const floors = results.figures.filter((row) => / SDK packages alone$/.test(row.name));
    expect(floors.map((row) => row.name)).toEqual([
      expect.stringMatching(new RegExp(`^cold init (${verbs.join('|')})'s SDK packages alone$`)),
    ]);
    expect(results.figures.map((row) => row.name).sort()).toEqual(
      [
        floors[0]?.name ?? 'the SDK floor',
        ...verbs.flatMap((verb) => [`bundle size ${verb}`, `cold init ${verb}`]),
        'bundle size logging helper alone',
        'cold init logging helper alone',
        'cold init check-tasks, esm',
        'package size, packed',
        'package size, unpacked',
      ].sort(),
    );
    for (const row of results.figures) {
      expect(row.value).toBeGreaterThan(0);
      expect(row.met).toBe(row.target === undefined ? null : row.value! <= row.target.max);
      expect(result.stdout).toContain(row.name);
    }
    const size = (name: string) => results.figures.find((row) => row.name === name)?.value ?? 0;
    expect(size('package size, unpacked')).toBeGreaterThan(size('package size, packed'));
    expect(result.stdout.split('\n')[0]).toMatch(/^figure\s+\| measurement/);
  }, 180_000);

  it('refuses an unknown figure with usage exit code 64', async () => {
    const result = await bench(['--only', 'nope', '--out', join(dir, 'unused.json')]);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/unknown figure nope/);
  });
});
