-- Why a driver was closed for good (the old app's "invalid" outcome: the number is wrong), and when.
-- A number above the next few so a migration added meanwhile elsewhere cannot take the same version.
ALTER TABLE `drivers` ADD COLUMN `closed_reason` varchar(100) DEFAULT NULL, ADD COLUMN `closed_at` datetime DEFAULT NULL;
