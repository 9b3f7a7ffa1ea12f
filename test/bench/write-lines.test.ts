import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../../bench/processes.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('workloads/write-lines.mjs', () => {
  it('writes the asked number of numbered lines, each with the time it was written', async () => {
    const before = Date.now();
    const result = await runProcess(process.execPath, ['bench/workloads/write-lines.mjs', '50', '1000'], {
      cwd: repoRoot,
      timeoutMs: 30_000,
    });
    const after = Date.now();

    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((line) => Number(line.split(' ')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const line of lines) {
      const written = Number(line.split(' ')[1]);
      expect(written).toBeGreaterThanOrEqual(before);
      expect(written).toBeLessThanOrEqual(after);
    }
  });

  it('refuses a bad count with a usage message', async () => {
    const result = await runProcess(process.execPath, ['bench/workloads/write-lines.mjs', 'x', '1'], {
      cwd: repoRoot,
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/usage/);
  });
});
