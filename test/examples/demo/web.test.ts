import { rmSync } from 'node:fs';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AppProcess, freshDataDir, runApp, startApp } from './app-process.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

describe('examples/demo/app/web.mjs', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let running: AppProcess | undefined;

  beforeEach(async () => {
    dataDir = freshDataDir();
    env = { LOCAL_DATA_DIR: dataDir, APP_ENV: 'au', IMAGE: 'stepdeploy-demo/app:2026-11-26.3' };
    expect((await runApp('examples/demo/app/migrate.mjs', env)).code).toBe(0);
    running = startApp(['node', 'examples/demo/app/web.mjs'], { ...env, PORT: String(await freePort()) });
    await running.waitForLine(/^web for au serving release 2026-11-26\.3 .* on port \d+$/);
  });
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const url = (route: string) => {
    const line = running?.lines.find((l) => l.startsWith('web for'));
    return `http://127.0.0.1:${/port (\d+)$/.exec(line ?? '')?.[1]}${route}`;
  };

  it('answers /health with the release and image it runs', async () => {
    const res = await fetch(url('/health'));

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      environment: 'au',
      release: '2026-11-26.3',
      image: 'stepdeploy-demo/app:2026-11-26.3',
    });
  });

  it('shows on / what the database holds', async () => {
    const res = await fetch(url('/'));

    expect(await res.json()).toMatchObject({ environment: 'au', orders: 12, migrations: expect.any(Array) });
  });

  it('exits 0 on SIGTERM after closing the server', async () => {
    running?.child.kill('SIGTERM');

    expect(await running?.exited).toBe(0);
    expect(running?.lines).toContain('web stopped');
  });
});
