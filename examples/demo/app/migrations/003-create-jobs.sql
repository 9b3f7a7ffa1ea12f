-- The worker's queue, with a receipt to send for every order already placed.
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done')),
  attempts INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  started_at TEXT,
  finished_at TEXT
);

CREATE INDEX jobs_queued ON jobs (status, id);

INSERT INTO jobs (kind, payload)
SELECT 'send-receipt', json_object('orderId', id) FROM orders ORDER BY id;
