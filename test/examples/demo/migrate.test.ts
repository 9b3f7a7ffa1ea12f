import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshDataDir, runApp } from './app-process.js';

const MIGRATE = 'examples/demo/app/migrate.mjs';

describe('examples/demo/app/migrate.mjs', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = freshDataDir();
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies every migration in order into $LOCAL_DATA_DIR/$APP_ENV.sqlite, saying what each did', async () => {
    const { code, lines } = await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'eu' });

    expect(code).toBe(0);
    const applying = lines.filter((line) => line.startsWith('applying '));
    expect(applying.map((line) => line.split(' ')[1])).toEqual([
      '001-create-accounts',
      '002-add-orders',
      '003-create-jobs',
      '004-add-lifetime-value',
      '005-create-releases',
    ]);
    expect(applying[1]).toMatch(/^applying 002-add-orders \.\.\. done \(12 rows/);
    const db = new Database(path.join(dataDir, 'eu.sqlite'), { readonly: true });
    try {
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY rowid').pluck().all();
      expect(versions).toEqual(applying.map((line) => line.split(' ')[1]));
      expect(db.prepare('SELECT COUNT(*) FROM orders').pluck().get()).toBe(12);
      expect(db.prepare("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").pluck().get()).toBe(12);
      expect(db.prepare('SELECT SUM(lifetime_cents) FROM accounts').pluck().get()).toBe(
        db.prepare('SELECT SUM(amount_cents) FROM orders').pluck().get(),
      );
    } finally {
      db.close();
    }
  });

  it('is idempotent: a second run applies nothing and leaves the data as it was', async () => {
    await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'us' });

    const again = await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'us' });

    expect(again.code).toBe(0);
    expect(again.lines.filter((line) => line.startsWith('applying '))).toEqual([]);
    expect(again.lines).toContain('schema is up to date, nothing to apply');
    const db = new Database(path.join(dataDir, 'us.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(5);
      expect(db.prepare('SELECT COUNT(*) FROM orders').pluck().get()).toBe(12);
    } finally {
      db.close();
    }
  });

  it('keeps each environment in its own database', async () => {
    await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'us' });

    const au = await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'au' });

    expect(au.lines.filter((line) => line.startsWith('applying '))).toHaveLength(5);
  });

  it('exits 64 naming the variable when APP_ENV is missing', async () => {
    const { code, lines } = await runApp(MIGRATE, { LOCAL_DATA_DIR: dataDir });

    expect(code).toBe(64);
    expect(lines.join('\n')).toMatch(/APP_ENV is not set/);
  });
});
