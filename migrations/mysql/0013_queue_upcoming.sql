-- The Upcoming view lists a caller's scheduled drivers by due time.
CREATE INDEX idx_queue_caller_due ON call_queue (caller_id, due_at, driver_id);
