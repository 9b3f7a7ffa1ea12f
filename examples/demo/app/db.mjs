import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** Who sets each variable the app needs, for the message when one is missing. */
const SET_BY = {
  APP_ENV: 'the task definition sets it (us, eu, au)',
  LOCAL_DATA_DIR: 'the local AWS sets it to its data directory',
};

/**
 * Reads a required environment variable, or exits 64 (usage error) saying who sets it.
 * @param {'APP_ENV' | 'LOCAL_DATA_DIR'} name
 * @returns {string}
 */
export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    const script = path.relative(process.cwd(), process.argv[1] ?? '');
    console.error(
      `${name} is not set: ${SET_BY[name]}. To run by hand: APP_ENV=us LOCAL_DATA_DIR=/tmp/demo node ${script}`,
    );
    process.exit(64);
  }
  return value;
}

/**
 * Where this environment's database lives: one SQLite file per environment, so that
 * the environments of a release are as separate as they are in production.
 * @returns {string}
 */
export function databasePath() {
  return path.join(requireEnv('LOCAL_DATA_DIR'), `${requireEnv('APP_ENV')}.sqlite`);
}

/**
 * Opens (creating if needed) this environment's database. WAL and a busy timeout let the
 * old and the new task set of a blue/green deployment use the file at the same time.
 * @param {string} [file]
 * @returns {import('better-sqlite3').Database}
 */
export function openDatabase(file = databasePath()) {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * The release name carried by an image reference (its tag), e.g. `2026-11-26.3` from
 * `stepdeploy-demo/app:2026-11-26.3`; `unknown` when the image has no tag.
 * @param {string | undefined} image
 * @returns {string}
 */
export function releaseOf(image) {
  const tag = /:([^:/@]+)$/.exec(image ?? '');
  return tag ? tag[1] : 'unknown';
}

/**
 * Whether a table exists, so a process can say "run the migrations first" instead of
 * failing on a bare SQL error.
 * @param {import('better-sqlite3').Database} db
 * @param {string} table
 * @returns {boolean}
 */
export function hasTable(db, table) {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/**
 * Resolves after `ms` milliseconds.
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
