-- Calls whose status calldesk set (or could not confirm) without TeleCMI's word. A side table, so
-- `call_logs` keeps the old system's columns. `state`: 'unconfirmed' = the click-to-call request got
-- no answer (the call may still ring); 'provisional' = calldesk closed the call itself (call ceiling,
-- agent's "not placed"): TeleCMI's own report for the call corrects it, from `prior_status`.
-- `reason` is the remarks text calldesk wrote, cleared again when TeleCMI's word arrives.
CREATE TABLE IF NOT EXISTS call_provisional (
  call_log_id INTEGER PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('unconfirmed', 'provisional')),
  prior_status TEXT NOT NULL,
  reason TEXT NOT NULL,
  since TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_call_provisional_state ON call_provisional (state, call_log_id);
