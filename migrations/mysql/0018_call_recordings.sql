-- The recording TeleCMI made of a call (`record` and `filename` in leg B's CDR, or `filename` in its
-- CDR lists). A side table, so `call_logs` keeps the old system's columns; one row per call (a
-- resent CDR changes nothing). The file itself stays at TeleCMI (`calldesk recording` fetches it).
CREATE TABLE IF NOT EXISTS `call_recordings` (
  `call_log_id` int(11) NOT NULL,
  `filename` varchar(255) NOT NULL,
  `received_at` datetime NOT NULL,
  PRIMARY KEY (`call_log_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
