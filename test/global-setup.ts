import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of the files under `dir` (0 when it does not exist). */
function newestMs(dir: string): number {
  let newest = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return 0;
  }
  for (const entry of entries) newest = Math.max(newest, statSync(path.join(dir, entry)).mtimeMs);
  return newest;
}

/** The oldest of the build's outputs (0 when one is missing). */
function builtMs(): number {
  const outputs = ['dist/cli/main.js', 'dist/infra/index.js', 'dist/handlers/plan/index.js'];
  let oldest = Number.POSITIVE_INFINITY;
  for (const output of outputs) {
    try {
      oldest = Math.min(oldest, statSync(path.join(ROOT, output)).mtimeMs);
    } catch {
      return 0;
    }
  }
  return oldest;
}

/**
 * Tests synthesize the construct (which deploys the bundled handlers) and run the compiled
 * bins: build the package first when its sources changed since the last build.
 */
export default function setup(): void {
  const sources = Math.max(
    ...['cli', 'infra', 'lambdas', 'statemachine'].map((d) => newestMs(path.join(ROOT, d))),
  );
  if (sources <= builtMs()) return;
  const built = spawnSync('npm', ['run', 'build:package'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build:package failed; the tests need the built package.');
}
