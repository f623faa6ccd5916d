-- The do-not-call list: numbers (normalised, with the country code, as drivers.mobile) that no
-- call may go to, with who added each, when and why. The primary key is the lookup the dialer, the
-- due queue (NOT EXISTS per row) and search use; removing a number undoes all of it.
-- `number` has drivers.mobile's type and collation, so the join on it uses the key.
CREATE TABLE IF NOT EXISTS `dnc_numbers` (
  `number` varchar(20) NOT NULL,
  `reason` varchar(500) DEFAULT NULL,
  `added_by` int DEFAULT NULL,
  `added_by_name` varchar(255) NOT NULL,
  `added_at` datetime NOT NULL,
  PRIMARY KEY (`number`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
