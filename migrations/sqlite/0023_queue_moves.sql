-- Drivers moved from one agent's queue to another's (`calldesk assign`, or the supervisor board):
-- one row per driver, who moved them (a supervisor's caller id; NULL from the command line) and when.
CREATE TABLE IF NOT EXISTS queue_moves (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  driver_id TEXT NOT NULL,
  from_caller INTEGER NOT NULL,
  to_caller INTEGER NOT NULL,
  moved_by INTEGER DEFAULT NULL,
  moved_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_queue_moves_driver ON queue_moves (driver_id, id);
CREATE INDEX IF NOT EXISTS idx_queue_moves_at ON queue_moves (moved_at);
