-- The do-not-call list: numbers (normalised, with the country code, as drivers.mobile) that no
-- call may go to, with who added each, when and why. The primary key is the lookup the dialer, the
-- due queue (NOT EXISTS per row) and search use; removing a number undoes all of it.
-- `number` is made from drivers.mobile (CREATE ... SELECT of no rows), so it has that column's type,
-- character set and collation whatever the server's default is today: `n.number = d.mobile` then
-- compares in one collation (no "Illegal mix of collations") and uses the key. The other columns
-- are declared; the SELECT only names them so the declared definitions apply. One statement: MySQL
-- commits DDL at once, so there is no half-made table to trip a rerun.
CREATE TABLE IF NOT EXISTS `dnc_numbers` (
  `reason` varchar(500) DEFAULT NULL,
  `added_by` int DEFAULT NULL,
  `added_by_name` varchar(255) NOT NULL,
  `added_at` datetime NOT NULL,
  PRIMARY KEY (`number`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
  SELECT `mobile` AS `number`, NULL AS `reason`, NULL AS `added_by`, '' AS `added_by_name`, NOW() AS `added_at`
  FROM `drivers` WHERE 1 = 0;
