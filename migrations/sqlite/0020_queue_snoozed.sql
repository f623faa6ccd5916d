-- When the agent snoozed a driver (`z` in the console), until when. A queue row is a snooze while
-- its due time is still this one: any other change of the due time (an outcome's retry or
-- callback, a skip) makes it an ordinary entry again, and the writers clear it as well.
ALTER TABLE call_queue ADD COLUMN snoozed_until TEXT DEFAULT NULL;
