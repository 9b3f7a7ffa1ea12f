-- Orders, three per existing account.
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  receipt_sent_at TEXT,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX orders_account ON orders (account_id);

INSERT INTO orders (account_id, amount_cents)
SELECT accounts.id, accounts.id * 1000 + n.value * 250
FROM accounts
CROSS JOIN (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL SELECT 3) AS n
ORDER BY accounts.id, n.value;
