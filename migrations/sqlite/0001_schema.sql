-- calldesk schema on SQLite: the same tables and columns as on MySQL.
-- Enums become CHECK constraints; `updated_at ON UPDATE` becomes a trigger. Timestamps are UTC text.

CREATE TABLE IF NOT EXISTS call_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  reference_id TEXT DEFAULT NULL,
  caller_id INTEGER DEFAULT NULL,
  driver_id TEXT DEFAULT NULL,
  driver_mobile TEXT DEFAULT NULL,
  driver_name TEXT DEFAULT NULL,
  driver_tmid TEXT DEFAULT NULL,
  call_type TEXT DEFAULT 'manual' CHECK (call_type IN ('ivr', 'manual')),
  status TEXT DEFAULT 'initiated',
  provider TEXT DEFAULT 'manual' CHECK (provider IN ('telecmi', 'manual', 'myoperator')),
  telecmi_user_id TEXT DEFAULT NULL,
  feedback TEXT DEFAULT NULL,
  remarks TEXT DEFAULT NULL,
  call_duration INTEGER DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT NULL DEFAULT NULL
);
CREATE INDEX IF NOT EXISTS idx_reference_id ON call_logs (reference_id);
CREATE INDEX IF NOT EXISTS idx_caller_id ON call_logs (caller_id, id);
CREATE INDEX IF NOT EXISTS idx_driver_id ON call_logs (driver_id);
CREATE INDEX IF NOT EXISTS idx_provider ON call_logs (provider);
CREATE INDEX IF NOT EXISTS idx_created_at ON call_logs (created_at);
CREATE INDEX IF NOT EXISTS idx_cd_call_logs_status ON call_logs (status, id);

CREATE TRIGGER IF NOT EXISTS call_logs_updated_at AFTER UPDATE ON call_logs
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
  UPDATE call_logs SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TABLE IF NOT EXISTS callers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor')),
  created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS drivers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  mobile TEXT NOT NULL,
  tmid TEXT DEFAULT NULL,
  city TEXT DEFAULT NULL,
  state TEXT DEFAULT NULL,
  assigned_to INTEGER DEFAULT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_drivers_mobile ON drivers (mobile);
CREATE INDEX IF NOT EXISTS idx_drivers_tmid ON drivers (tmid);
CREATE INDEX IF NOT EXISTS idx_drivers_assigned_to ON drivers (assigned_to);

CREATE TABLE IF NOT EXISTS call_queue (
  driver_id TEXT PRIMARY KEY,
  caller_id INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 1,
  due_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_outcome TEXT DEFAULT NULL,
  claimed_by INTEGER DEFAULT NULL,
  claimed_until TEXT DEFAULT NULL
);
CREATE INDEX IF NOT EXISTS idx_queue_due ON call_queue (caller_id, priority, due_at, driver_id);

CREATE TABLE IF NOT EXISTS webhook_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at TEXT NOT NULL,
  dedup_key TEXT NOT NULL UNIQUE,
  call_log_id INTEGER DEFAULT NULL,
  reference TEXT DEFAULT NULL,
  kind TEXT NOT NULL,
  leg TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_webhook_events_call ON webhook_events (call_log_id, id);
CREATE INDEX IF NOT EXISTS idx_webhook_events_received ON webhook_events (received_at);

CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  caller_id INTEGER NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT DEFAULT NULL
);
CREATE INDEX IF NOT EXISTS idx_api_tokens_caller ON api_tokens (caller_id);

CREATE TABLE IF NOT EXISTS feedback_drafts (
  call_log_id INTEGER PRIMARY KEY,
  caller_id INTEGER NOT NULL,
  feedback_group TEXT DEFAULT NULL,
  feedback TEXT DEFAULT NULL,
  remarks TEXT DEFAULT NULL,
  call_duration TEXT DEFAULT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_feedback_drafts_caller ON feedback_drafts (caller_id);

CREATE TABLE IF NOT EXISTS calldesk_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
