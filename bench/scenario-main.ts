/**
 * Runs one bench scenario in this process and writes its report as JSON:
 *   tsx bench/scenario-main.ts '<ScenarioOptions JSON>' <report.json>
 * The figures spawn it: each scenario needs a fresh process (handler modules keep their
 * configuration for the life of the process).
 */
import '../local/polyfills.js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runScenario, type ScenarioOptions } from './scenario.js';

const [optionsJson, reportPath] = process.argv.slice(2);
if (!optionsJson || !reportPath) {
  process.stderr.write("usage: tsx bench/scenario-main.ts '<scenario options JSON>' <report.json>\n");
  process.exit(64);
}
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const report = await runScenario(JSON.parse(optionsJson) as ScenarioOptions, repoRoot, (line) =>
  process.stderr.write(`  ${line}\n`),
);
await writeFile(reportPath, JSON.stringify(report));
// Handler modules keep SDK clients with open sockets: end the process once the report is out.
process.exit(0);
