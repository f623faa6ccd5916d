-- Apart from 0011's ALTER, as on MySQL.
-- Drivers already finished before this migration: out of the queue, with a saved outcome.
UPDATE drivers SET
  finished_at = (SELECT MAX(c.created_at) FROM call_logs c
                 WHERE c.driver_id = drivers.id AND c.feedback IS NOT NULL AND c.feedback <> ''),
  finished_outcome = (SELECT c.feedback FROM call_logs c
                      WHERE c.driver_id = drivers.id AND c.feedback IS NOT NULL AND c.feedback <> ''
                      ORDER BY c.id DESC LIMIT 1)
WHERE NOT EXISTS (SELECT 1 FROM call_queue q WHERE q.driver_id = drivers.id);
