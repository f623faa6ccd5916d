-- The recording TeleCMI made of a call (`record` and `filename` in leg B's CDR, or `filename` in its
-- CDR lists). A side table, so `call_logs` keeps the old system's columns; one row per call (a
-- resent CDR changes nothing). The file itself stays at TeleCMI (`calldesk recording` fetches it).
CREATE TABLE IF NOT EXISTS call_recordings (
  call_log_id INTEGER PRIMARY KEY,
  filename TEXT NOT NULL,
  received_at TEXT NOT NULL
);
