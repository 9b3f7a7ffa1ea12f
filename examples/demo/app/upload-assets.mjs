// Pre-deploy step: publishes the static assets of this release before any task serves
// it, so new pages never reference a file the CDN does not have. Here the "bucket" is
// $LOCAL_DATA_DIR/assets/<env>/: each file is stored under a content-hashed name and a
// manifest maps logical names to them. Publishing the same release again changes nothing.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseOf, requireEnv } from './db.mjs';

const sourceDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
const release = releaseOf(process.env.IMAGE);
const bucket = path.join(requireEnv('LOCAL_DATA_DIR'), 'assets', requireEnv('APP_ENV'));
mkdirSync(bucket, { recursive: true });

console.log(`publishing assets of release ${release} to ${bucket}`);
/** @type {Record<string, string>} */
const manifest = {};
for (const name of readdirSync(sourceDir).sort()) {
  const content = readFileSync(path.join(sourceDir, name));
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12);
  const ext = path.extname(name);
  const stored = `${path.basename(name, ext)}-${hash}${ext}`;
  const target = path.join(bucket, stored);
  if (existsSync(target)) {
    console.log(`  ${name} -> ${stored} (already there)`);
  } else {
    copyFileSync(path.join(sourceDir, name), target);
    console.log(`  ${name} -> ${stored} (${content.length} bytes uploaded)`);
  }
  manifest[name] = stored;
}
const manifestFile = path.join(bucket, `manifest-${release}.json`);
writeFileSync(manifestFile, `${JSON.stringify({ release, files: manifest }, null, 2)}\n`);
console.log(`wrote ${manifestFile} (${Object.keys(manifest).length} files)`);
