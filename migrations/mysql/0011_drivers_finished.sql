-- A driver whose saved outcome took them off the queue (Interview Fixed, attempts exhausted, a wrong
-- number…): when, and with which outcome. Re-importing a file does not queue them again unless
-- asked (`calldesk import drivers --requeue`). Cleared when an outcome puts them back in the queue.
ALTER TABLE `drivers` ADD COLUMN `finished_at` datetime DEFAULT NULL, ADD COLUMN `finished_outcome` text DEFAULT NULL;
-- Drivers already finished before this migration: out of the queue, with a saved outcome.
UPDATE `drivers` SET
  `finished_at` = (SELECT MAX(c.created_at) FROM `call_logs` c
                   WHERE c.driver_id = `drivers`.id AND c.feedback IS NOT NULL AND c.feedback <> ''),
  `finished_outcome` = (SELECT c.feedback FROM `call_logs` c
                        WHERE c.driver_id = `drivers`.id AND c.feedback IS NOT NULL AND c.feedback <> ''
                        ORDER BY c.id DESC LIMIT 1)
WHERE NOT EXISTS (SELECT 1 FROM `call_queue` q WHERE q.driver_id = `drivers`.id);
