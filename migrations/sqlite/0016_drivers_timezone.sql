-- A driver's own IANA time zone (from the import's optional `timezone` column); NULL = the team's.
-- Calling hours are read in it.
ALTER TABLE drivers ADD COLUMN timezone VARCHAR(64) DEFAULT NULL;
