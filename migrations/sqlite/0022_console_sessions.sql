-- Who has a console (or the supervisor view) open, one row per session: started, last seen (a
-- heartbeat every few seconds), ended and why. The supervisor's online/offline comes from here,
-- and a second login of an agent takes over the first: the new row names the old one's
-- successor in `taken_over_by`, the old console sees it at its next heartbeat, saves its draft
-- and ends; a dial from a session taken over is refused in the dial's transaction.
CREATE TABLE IF NOT EXISTS console_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  caller_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('console', 'supervise')),
  origin TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  ended_at TEXT DEFAULT NULL,
  end_reason TEXT DEFAULT NULL,
  taken_over_by INTEGER DEFAULT NULL
);
CREATE INDEX IF NOT EXISTS idx_console_sessions_caller ON console_sessions (caller_id, ended_at);
CREATE INDEX IF NOT EXISTS idx_console_sessions_seen ON console_sessions (last_seen_at);
