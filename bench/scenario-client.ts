import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, tailOf } from './processes.js';
import type { ScenarioOptions, ScenarioReport } from './scenario.js';

/** Runs a scenario in a fresh process (see `scenario-main.ts`) and resolves with its report. */
export async function runScenarioProcess(
  repoRoot: string,
  options: ScenarioOptions,
  log: (line: string) => void,
  timeoutMs = 900_000,
): Promise<ScenarioReport> {
  const dir = await mkdtemp(join(tmpdir(), 'stepdeploy-bench-scenario-'));
  const reportPath = join(dir, 'report.json');
  try {
    const result = await runProcess(
      process.execPath,
      ['--import', 'tsx', 'bench/scenario-main.ts', JSON.stringify(options), reportPath],
      { cwd: repoRoot, timeoutMs },
    );
    for (const line of result.stderr.trimEnd().split('\n')) if (line) log(line);
    if (result.code !== 0) {
      throw new Error(
        `scenario ${options.environments} x ${options.services} exited ${result.code ?? result.signal}:\n${tailOf(result.stderr)}`,
      );
    }
    return JSON.parse(await readFile(reportPath, 'utf8')) as ScenarioReport;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
