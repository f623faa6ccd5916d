-- The agent's own state (ready, or on a break with a reason), one row per change: the newest row
-- of a caller is their state now, and the rows of a day give that day's break time. In a call and
-- in wrap-up are not stored here: they follow from call_logs.
CREATE TABLE IF NOT EXISTS agent_states (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  caller_id INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ready', 'break')),
  reason TEXT DEFAULT NULL,
  started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_agent_states_caller ON agent_states (caller_id, started_at);
CREATE INDEX IF NOT EXISTS idx_agent_states_started ON agent_states (started_at);

-- The caller's daily target: calls with a positive outcome (`calldesk caller target ID N`).
ALTER TABLE callers ADD COLUMN daily_target INTEGER DEFAULT NULL;
