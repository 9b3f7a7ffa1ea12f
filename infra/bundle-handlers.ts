import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { VERBS, type Verb } from '../statemachine/handlers.js';
import { handlerEsbuildOptions } from './handler-bundling.js';
import { handlerBundleDir, handlerEntry, PACKAGE_ROOT } from './handler-code.js';

/** What bundling one handler produced. */
export interface HandlerBundle {
  verb: Verb;
  /** The folder the construct uploads as the function's code: `index.js`, its source map and a `package.json`. */
  dir: string;
  metafile: Metafile;
}

/**
 * Bundles every handler from its TypeScript source into `<outRoot>/<verb>/index.js` with the
 * settings the functions run with (CommonJS, minified, source map, AWS SDK left to the
 * runtime). Each folder gets a `package.json` declaring CommonJS, so `index.js` loads as
 * Lambda loads it wherever the folder sits.
 */
export async function bundleHandlers(
  outRoot: string,
  verbs: readonly Verb[] = VERBS,
): Promise<HandlerBundle[]> {
  return Promise.all(
    verbs.map(async (verb) => {
      const dir = path.join(outRoot, verb);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const result = await build({
        ...handlerEsbuildOptions(handlerEntry(verb), path.join(dir, 'index.js')),
        metafile: true,
        logLevel: 'warning',
      });
      await writeFile(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
      return { verb, dir, metafile: result.metafile };
    }),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bundles = await bundleHandlers(path.dirname(handlerBundleDir(VERBS[0])));
  process.stdout.write(
    `bundled ${bundles.length} handlers into ${path.relative(PACKAGE_ROOT, path.dirname(bundles[0].dir))}\n`,
  );
}
