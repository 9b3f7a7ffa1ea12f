import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppProcess, freshDataDir, runApp, startApp } from './app-process.js';

const WORKER = ['node', 'examples/demo/app/worker.mjs'];

describe('examples/demo/app/worker.mjs', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let running: AppProcess | undefined;

  beforeEach(async () => {
    dataDir = freshDataDir();
    env = { LOCAL_DATA_DIR: dataDir, APP_ENV: 'us', IMAGE: 'stepdeploy-demo/app:r1' };
    const migrated = await runApp('examples/demo/app/migrate.mjs', env);
    expect(migrated.code).toBe(0);
  });
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const jobStatus = (id: number) => {
    const db = new Database(path.join(dataDir, 'us.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(id);
    } finally {
      db.close();
    }
  };

  it('on SIGQUIT finishes the job in hand, then exits 0', async () => {
    // Jobs long enough that the signal surely lands while one is in hand.
    running = startApp(WORKER, { ...env, WORKER_JOB_MS: '1500' });
    const started = await running.waitForLine(/^job \d+ send-receipt .* started$/);
    const id = Number(/^job (\d+)/.exec(started)?.[1]);

    running.child.kill('SIGQUIT');

    expect(await running.exited).toBe(0);
    expect(running.lines).toContain(`SIGQUIT: finishing job ${id} before exiting`);
    expect(running.lines).toContain(`job ${id} done`);
    expect(running.lines.at(-1)).toBe('worker drained, exiting 0');
    expect(running.lines.filter((line) => / started$/.test(line))).toHaveLength(1);
    expect(jobStatus(id)).toBe('done');
  });

  it('on SIGTERM stops at once and puts the job in hand back on the queue', async () => {
    running = startApp(WORKER, { ...env, WORKER_JOB_MS: '60000' });
    const started = await running.waitForLine(/^job \d+ send-receipt .* started$/);
    const id = Number(/^job (\d+)/.exec(started)?.[1]);

    running.child.kill('SIGTERM');

    expect(await running.exited).toBe(143);
    expect(running.lines).not.toContain(`job ${id} done`);
    expect(jobStatus(id)).toBe('queued');
  });

  it('through entrypoint.sh, turns the orchestrator SIGTERM into a drain', async () => {
    running = startApp(['sh', 'examples/demo/app/entrypoint.sh', ...WORKER], {
      ...env,
      WORKER_JOB_MS: '1500',
    });
    const started = await running.waitForLine(/^job \d+ send-receipt .* started$/);
    const id = Number(/^job (\d+)/.exec(started)?.[1]);

    running.child.kill('SIGTERM');

    expect(await running.exited).toBe(0);
    expect(running.lines).toContain(`job ${id} done`);
    expect(jobStatus(id)).toBe('done');
  });

  it('answers TCP health checks on $PORT', async () => {
    const net = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    running = startApp(WORKER, { ...env, PORT: String(port) });
    await running.waitForLine(/^worker .* running release r1$/);

    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });

    expect(connected).toBe(true);
  });
});

describe('examples/demo/app/worker.mjs before the first migration', () => {
  let dataDir: string;
  let running: AppProcess | undefined;
  beforeEach(() => {
    dataDir = freshDataDir();
  });
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('waits for the jobs table, then works, and drains on SIGQUIT', async () => {
    const env = { LOCAL_DATA_DIR: dataDir, APP_ENV: 'eu', WORKER_JOB_MS: '50', WORKER_IDLE_MS: '50' };
    running = startApp(WORKER, env);
    await running.waitForLine(/^the jobs table does not exist yet: waiting for the migrations$/);

    expect((await runApp('examples/demo/app/migrate.mjs', env)).code).toBe(0);
    await running.waitForLine(/^job 1 done$/);
    running.child.kill('SIGQUIT');

    expect(await running.exited).toBe(0);
    expect(running.lines.at(-1)).toBe('worker drained, exiting 0');
  });

  it('exits 0 on SIGQUIT while still waiting', async () => {
    running = startApp(WORKER, { LOCAL_DATA_DIR: dataDir, APP_ENV: 'eu' });
    await running.waitForLine(/waiting for the migrations$/);

    running.child.kill('SIGQUIT');

    expect(await running.exited).toBe(0);
  });
});
