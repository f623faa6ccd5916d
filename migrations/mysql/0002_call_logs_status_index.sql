-- Live calls are looked up by status (reconciliation, supervisors, older webhooks without ids).
-- A new name, so it cannot clash with an index an existing database already has.
CREATE INDEX `idx_cd_call_logs_status` ON `call_logs` (`status`, `id`);
