-- The driver's own zone beside their queue row ('' = the team's), kept by every write that queues
-- a driver or changes their zone: the queue lists first the drivers whose calling window is open
-- now, and reads each zone's drivers in order through idx_queue_zone (a seek, however large the
-- queue).
ALTER TABLE call_queue ADD COLUMN timezone VARCHAR(64) NOT NULL DEFAULT '';
UPDATE call_queue SET timezone = (SELECT d.timezone FROM drivers d WHERE d.id = call_queue.driver_id)
  WHERE driver_id IN (SELECT id FROM drivers WHERE timezone IS NOT NULL AND timezone <> '');
CREATE INDEX IF NOT EXISTS idx_queue_zone ON call_queue (caller_id, timezone, priority, due_at, driver_id);
