// The web process: `/health` for the load balancer and CodeDeploy, `/` showing what the
// database holds, `POST /jobs` to queue work for the worker. On SIGTERM it stops
// accepting connections, finishes the requests in flight and exits 0.
import http from 'node:http';
import { hasTable, openDatabase, releaseOf } from './db.mjs';

const port = Number(process.env.PORT ?? '3000');
const image = process.env.IMAGE ?? 'unknown';
const appEnv = process.env.APP_ENV;
const db = openDatabase();

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** What `/` shows: the schema version, a few counts and the release last tagged. */
function overview() {
  const count = (/** @type {string} */ table) =>
    hasTable(db, table) ? Number(db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get()) : null;
  const migrations = hasTable(db, 'schema_migrations')
    ? db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()
    : [];
  const lastTagged = hasTable(db, 'releases')
    ? db
        .prepare('SELECT release, tagged_at AS taggedAt FROM releases ORDER BY tagged_at DESC, rowid DESC')
        .get()
    : undefined;
  const queued = hasTable(db, 'jobs')
    ? Number(db.prepare("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").pluck().get())
    : null;
  return {
    environment: appEnv,
    release: releaseOf(image),
    image,
    migrations,
    accounts: count('accounts'),
    orders: count('orders'),
    jobs: { total: count('jobs'), queued },
    lastTagged: lastTagged ?? null,
  };
}

const server = http.createServer((req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/health') {
      send(res, 200, { status: 'ok', environment: appEnv, release: releaseOf(image), image });
    } else if (req.method === 'GET' && req.url === '/') {
      send(res, 200, overview());
    } else if (req.method === 'POST' && req.url === '/jobs') {
      if (!hasTable(db, 'jobs')) {
        send(res, 503, { error: 'the jobs table does not exist yet: run the migrations' });
        return;
      }
      const id = db
        .prepare("INSERT INTO jobs (kind, payload) VALUES ('ping', json_object('from', 'web')) RETURNING id")
        .pluck()
        .get();
      send(res, 201, { queued: id });
    } else {
      send(res, 404, { error: `no route ${req.method} ${req.url}; try GET /, GET /health, POST /jobs` });
    }
  } catch (error) {
    send(res, 500, { error: error instanceof Error ? error.message : String(error) });
  }
});

server.on('error', (error) => {
  console.error(`web cannot listen on port ${port}: ${error.message}`);
  process.exit(1);
});

server.listen(port, () => {
  console.log(`web for ${appEnv} serving release ${releaseOf(image)} (${image}) on port ${port}`);
});

process.on('SIGTERM', () => {
  console.log('SIGTERM: no new connections, finishing requests in flight');
  server.close(() => {
    db.close();
    console.log('web stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
});
