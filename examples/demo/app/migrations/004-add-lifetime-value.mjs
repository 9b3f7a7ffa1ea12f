/**
 * A data migration in JavaScript: adds each account's lifetime value and backfills it
 * from its orders. It runs inside the runner's transaction, so it stays synchronous.
 * @param {import('better-sqlite3').Database} db
 */
export function up(db) {
  db.exec('ALTER TABLE accounts ADD COLUMN lifetime_cents INTEGER NOT NULL DEFAULT 0');
  const totals = db
    .prepare('SELECT account_id AS accountId, SUM(amount_cents) AS cents FROM orders GROUP BY account_id')
    .all();
  const update = db.prepare('UPDATE accounts SET lifetime_cents = ? WHERE id = ?');
  for (const { accountId, cents } of /** @type {Array<{ accountId: number, cents: number }>} */ (totals)) {
    update.run(cents, accountId);
  }
}
