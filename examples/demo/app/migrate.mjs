// Applies the pending migrations of examples/demo/app/migrations to this environment's
// database, one transaction each, in file-name order. Safe to run again: applied ones
// are recorded in schema_migrations and skipped.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { databasePath, openDatabase, sleep } from './db.mjs';

/** The folder holding `NNN-name.sql` and `NNN-name.mjs` migrations. */
export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * @typedef {object} Migration
 * @property {string} version the file name without its extension, e.g. `002-add-orders`
 * @property {string} file absolute path
 */

/**
 * The migrations on disk, in the order they apply.
 * @param {string} [dir]
 * @returns {Migration[]}
 */
export function listMigrations(dir = MIGRATIONS_DIR) {
  return readdirSync(dir)
    .filter((name) => /^\d{3}-[a-z0-9-]+\.(sql|mjs)$/.test(name))
    .sort()
    .map((name) => ({ version: name.replace(/\.(sql|mjs)$/, ''), file: path.join(dir, name) }));
}

/**
 * Applies every pending migration; returns the versions it applied.
 * @param {import('better-sqlite3').Database} db
 * @param {{ dir?: string, delayMs?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<string[]>}
 */
export async function migrate(db, { dir = MIGRATIONS_DIR, delayMs = 0, log = console.log } = {}) {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
  )`);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version) VALUES (?)');
  const changes = db.prepare('SELECT total_changes() AS n').pluck();

  const pending = listMigrations(dir).filter((m) => isApplied.get(m.version) === undefined);
  if (pending.length === 0) {
    log('schema is up to date, nothing to apply');
    return [];
  }
  log(`${pending.length} pending migration(s): ${pending.map((m) => m.version).join(', ')}`);

  const applied = [];
  for (const migration of pending) {
    // Loaded before the transaction opens: a transaction function cannot await.
    const up = migration.file.endsWith('.mjs')
      ? /** @type {{ up: (db: import('better-sqlite3').Database) => void }} */ (
          await import(pathToFileURL(migration.file).href)
        ).up
      : (/** @type {import('better-sqlite3').Database} */ target) =>
          target.exec(readFileSync(migration.file, 'utf8'));
    if (delayMs > 0) await sleep(delayMs);

    const started = Date.now();
    /** @type {number | undefined} */
    let rows;
    try {
      rows = db
        .transaction(() => {
          // Checked again inside the write lock: a second runner may have applied it meanwhile.
          if (isApplied.get(migration.version) !== undefined) return undefined;
          const before = Number(changes.get());
          up(db);
          const touched = Number(changes.get()) - before;
          record.run(migration.version);
          return touched;
        })
        .immediate();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `${migration.version} (${migration.file}) failed and was rolled back: ${message}. ` +
          'Fix the migration and run again; the ones before it stay applied.',
        { cause: error },
      );
    }
    if (rows === undefined) {
      log(`applying ${migration.version} ... already applied by another runner`);
      continue;
    }
    log(`applying ${migration.version} ... done (${rows} rows, ${Date.now() - started} ms)`);
    applied.push(migration.version);
  }
  return applied;
}

async function main() {
  const file = databasePath();
  const delayMs = Number(process.env.MIGRATION_DELAY_MS ?? '0') || 0;
  console.log(`migrating ${process.env.APP_ENV} database ${file}`);
  const db = openDatabase(file);
  try {
    const applied = await migrate(db, { delayMs });
    console.log(`migrations complete: ${applied.length} applied`);
  } finally {
    db.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
