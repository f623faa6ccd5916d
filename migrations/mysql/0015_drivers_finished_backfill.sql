-- Apart from 0011's ALTER (MySQL commits DDL at once, so a failed backfill must not leave a
-- half-applied migration). The old system's call_logs may have another collation than calldesk's
-- tables: both sides are compared in one explicit collation.
-- Drivers already finished before this migration: out of the queue, with a saved outcome.
UPDATE `drivers` SET
  `finished_at` = (SELECT MAX(c.created_at) FROM `call_logs` c
                   WHERE CONVERT(c.driver_id USING utf8mb4) COLLATE utf8mb4_general_ci = CONVERT(`drivers`.id USING utf8mb4) COLLATE utf8mb4_general_ci AND c.feedback IS NOT NULL AND c.feedback <> ''),
  `finished_outcome` = (SELECT c.feedback FROM `call_logs` c
                        WHERE CONVERT(c.driver_id USING utf8mb4) COLLATE utf8mb4_general_ci = CONVERT(`drivers`.id USING utf8mb4) COLLATE utf8mb4_general_ci AND c.feedback IS NOT NULL AND c.feedback <> ''
                        ORDER BY c.id DESC LIMIT 1)
WHERE NOT EXISTS (SELECT 1 FROM `call_queue` q WHERE q.driver_id = `drivers`.id);
