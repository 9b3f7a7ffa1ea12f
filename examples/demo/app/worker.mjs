// The background worker: takes jobs from the `jobs` table one at a time.
//
// Signals follow Resque's convention, which is why the container needs entrypoint.sh:
//   SIGQUIT  finish the job in hand, then exit 0 (graceful; what a deploy wants);
//   SIGTERM  stop now: put the job in hand back on the queue and exit 143.
// It also accepts TCP connections on $PORT so a load balancer or CodeDeploy can tell it
// is alive; it serves nothing there.

import net from 'node:net';
import { hostname } from 'node:os';
import { hasTable, openDatabase, releaseOf, sleep } from './db.mjs';

const jobMs = Number(process.env.WORKER_JOB_MS ?? '150') || 0;
const idleMs = Number(process.env.WORKER_IDLE_MS ?? '250') || 50;
const name = `${hostname()}:${process.pid}`;
const release = releaseOf(process.env.IMAGE);

const db = openDatabase();

/** @typedef {{ id: number, kind: string, payload: string }} Job */

/** @type {Job | undefined} */
let current;
let draining = false;

const health = net.createServer((socket) => socket.end());
health.on('error', (error) => {
  console.error(`health port ${process.env.PORT}: ${error.message}`);
  process.exit(1);
});
if (process.env.PORT) health.listen(Number(process.env.PORT));

process.on('SIGQUIT', () => {
  draining = true;
  console.log(
    current ? `SIGQUIT: finishing job ${current.id} before exiting` : 'SIGQUIT: no job in hand, exiting',
  );
});

process.on('SIGTERM', () => {
  if (current) {
    db.prepare("UPDATE jobs SET status = 'queued', worker = NULL WHERE id = ? AND worker = ?").run(
      current.id,
      name,
    );
    console.log(`SIGTERM: stopping now, job ${current.id} goes back on the queue`);
  } else {
    console.log('SIGTERM: stopping now, no job in hand');
  }
  db.close();
  process.exit(143);
});

console.log(`worker ${name} for ${process.env.APP_ENV} running release ${release}`);

// A worker can start before the first migration ran (a new environment): it waits for
// its table instead of crashing, and can still be stopped meanwhile.
if (!hasTable(db, 'jobs')) {
  console.log('the jobs table does not exist yet: waiting for the migrations');
  while (!draining && !hasTable(db, 'jobs')) await sleep(idleMs);
}

if (!draining) {
  const claim = db.prepare(
    `UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = ?, started_at = CURRENT_TIMESTAMP
     WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1)
     RETURNING id, kind, payload`,
  );
  const complete = db.prepare(
    "UPDATE jobs SET status = 'done', finished_at = CURRENT_TIMESTAMP WHERE id = ? AND worker = ?",
  );
  const markReceipt = db.prepare(
    'UPDATE orders SET receipt_sent_at = CURRENT_TIMESTAMP WHERE id = ? AND receipt_sent_at IS NULL',
  );

  /**
   * Does the job's work. The sleep stands for the slow part (an email API, a PDF).
   * @param {Job} job
   */
  const perform = async (job) => {
    if (jobMs > 0) await sleep(jobMs);
    if (job.kind === 'send-receipt') {
      const { orderId } = JSON.parse(job.payload);
      markReceipt.run(orderId);
    }
  };

  while (!draining) {
    current = /** @type {Job | undefined} */ (claim.get(name));
    if (!current) {
      await sleep(idleMs);
      continue;
    }
    console.log(`job ${current.id} ${current.kind} ${current.payload} started`);
    await perform(current);
    complete.run(current.id, name);
    console.log(`job ${current.id} done`);
    current = undefined;
  }
}

health.close();
db.close();
console.log('worker drained, exiting 0');
