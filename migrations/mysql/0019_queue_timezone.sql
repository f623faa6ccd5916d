-- The driver's own zone beside their queue row ('' = the team's), kept by every write that queues
-- a driver or changes their zone: the queue lists first the drivers whose calling window is open
-- now, and reads each zone's drivers in order through idx_queue_zone (a seek, however large the
-- queue).
ALTER TABLE call_queue ADD COLUMN timezone VARCHAR(64) NOT NULL DEFAULT '',
  ADD KEY idx_queue_zone (caller_id, timezone, priority, due_at, driver_id);
UPDATE call_queue q JOIN drivers d ON d.id = q.driver_id SET q.timezone = d.timezone
  WHERE d.timezone IS NOT NULL AND d.timezone <> '';
