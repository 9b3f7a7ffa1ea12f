// Post-deploy step: records in the environment's database that this release is live,
// with the asset manifest the pre-deploy step published. Running it again for the same
// release changes nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { hasTable, openDatabase, releaseOf, requireEnv } from './db.mjs';

const image = process.env.IMAGE ?? 'unknown';
const release = releaseOf(image);
const manifest = path.join(
  requireEnv('LOCAL_DATA_DIR'),
  'assets',
  requireEnv('APP_ENV'),
  `manifest-${release}.json`,
);

const db = openDatabase();
try {
  if (!hasTable(db, 'releases')) {
    console.error(
      'the releases table does not exist: run the migrations first (node examples/demo/app/migrate.mjs)',
    );
    process.exit(1);
  }
  const { changes } = db
    .prepare('INSERT INTO releases (release, image, assets_manifest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    .run(release, image, existsSync(manifest) ? manifest : null);
  console.log(
    changes === 1
      ? `tagged release ${release} (${image}) in ${process.env.APP_ENV}`
      : `release ${release} was already tagged in ${process.env.APP_ENV}`,
  );
  const total = db.prepare('SELECT COUNT(*) FROM releases').pluck().get();
  console.log(`${total} release(s) recorded`);
} finally {
  db.close();
}
