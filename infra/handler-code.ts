import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verb } from '../statemachine/handlers.js';

/**
 * The root of the stepdeploy package: the nearest folder above this module with a
 * `package.json`. It is the repository when the construct runs from its TypeScript source,
 * and `node_modules/stepdeploy` when it runs compiled from an installed package.
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`stepdeploy: no package.json above ${from}.`);
  }
}

/** The TypeScript source of a verb's handler (in the repository only; the package ships the bundles). */
export function handlerEntry(verb: Verb): string {
  return path.join(PACKAGE_ROOT, 'lambdas', verb, 'handler.ts');
}

/** The folder holding a verb's bundled handler (`index.js`), built by `npm run build`. */
export function handlerBundleDir(verb: Verb): string {
  return path.join(PACKAGE_ROOT, 'dist', 'handlers', verb);
}

/**
 * The bundled handler's folder, for the function's code; throws with the fix when the
 * bundles were not built (a repository checkout before `npm ci` or `npm run build`).
 */
export function requireHandlerBundle(verb: Verb): string {
  const dir = handlerBundleDir(verb);
  if (!existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `DeployOrchestrator: the ${verb} handler is not built (${path.join(dir, 'index.js')} is missing); ` +
        'run `npm run build` in the stepdeploy repository, or reinstall the stepdeploy package.',
    );
  }
  return dir;
}
