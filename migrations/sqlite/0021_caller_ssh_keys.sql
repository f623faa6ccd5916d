-- Callers' SSH public keys (the team host: sshd asks `calldesk ssh authorized-keys` about each key
-- at login). The fingerprint (SHA256 of the decoded blob, as `ssh-keygen -lf` prints it) is the
-- primary key: one row per key blob, so a key belongs to one caller, and the login's lookup is one
-- key read. Public keys only: nothing here is a secret.
CREATE TABLE IF NOT EXISTS caller_ssh_keys (
  fingerprint TEXT PRIMARY KEY,
  caller_id INTEGER NOT NULL,
  key_type TEXT NOT NULL,
  key_base64 TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS caller_ssh_keys_caller ON caller_ssh_keys (caller_id);
