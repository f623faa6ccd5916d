-- A driver whose saved outcome took them off the queue (Interview Fixed, attempts exhausted, a wrong
-- number…): when, and with which outcome. Re-importing a file does not queue them again unless
-- asked (`calldesk import drivers --requeue`). Cleared when an outcome puts them back in the queue.
ALTER TABLE `drivers` ADD COLUMN `finished_at` datetime DEFAULT NULL, ADD COLUMN `finished_outcome` text DEFAULT NULL;
