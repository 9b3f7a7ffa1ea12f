import type { BuildOptions } from 'esbuild';

/** The bundling settings of the handlers. */
export interface HandlerBundling {
  format: 'cjs' | 'esm';
  target: string;
  minify: boolean;
  keepNames: boolean;
  sourceMap: boolean;
  sourcesContent: boolean;
  /**
   * Packages left out of the bundle: the Node 22 runtime ships the AWS SDK v3. Everything else
   * is bundled, Powertools' logger included (the runtime has none).
   */
  externalModules: readonly string[];
  /** `NODE_OPTIONS` of every function. */
  nodeOptions: string;
}

/**
 * How every handler is bundled and run. The build's bundles (`infra/bundle-handlers.ts`),
 * which the construct deploys, and the bench's figure 5 both read it, so the figure measures
 * what is deployed.
 *
 * CommonJS rather than ESM: Node then loads the AWS SDK's single-file CommonJS builds instead
 * of its ESM builds of hundreds of files, which took the cold init from about 100 ms to 160 ms
 * and more (bench figure 5). The source map, without the sources it could embed, keeps stack
 * traces pointing at the TypeScript lines (`--enable-source-maps`) for a few milliseconds of
 * start-up; `keepNames` keeps class and function names readable in logs.
 */
export const HANDLER_BUNDLING: HandlerBundling = {
  format: 'cjs',
  target: 'node22',
  minify: true,
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: ['@aws-sdk/*'],
  nodeOptions: '--enable-source-maps',
};

/** The esbuild options of one handler's bundle, from {@link HANDLER_BUNDLING}. */
export function handlerEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    minify: HANDLER_BUNDLING.minify,
    keepNames: HANDLER_BUNDLING.keepNames,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    external: [...HANDLER_BUNDLING.externalModules],
  };
}
