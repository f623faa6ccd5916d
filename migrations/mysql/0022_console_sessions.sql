-- Who has a console (or the supervisor view) open, one row per session: started, last seen (a
-- heartbeat every few seconds), ended and why. The supervisor's online/offline comes from here,
-- and a second login of an agent takes over the first: the new row names the old one's
-- successor in `taken_over_by`, the old console sees it at its next heartbeat, saves its draft
-- and ends; a dial from a session taken over is refused in the dial's transaction.
CREATE TABLE IF NOT EXISTS `console_sessions` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `caller_id` int(11) NOT NULL,
  `kind` enum('console','supervise') NOT NULL,
  `origin` varchar(255) NOT NULL DEFAULT '',
  `host` varchar(255) NOT NULL DEFAULT '',
  `pid` int(11) NOT NULL DEFAULT 0,
  `started_at` datetime NOT NULL,
  `last_seen_at` datetime NOT NULL,
  `ended_at` datetime DEFAULT NULL,
  `end_reason` varchar(32) DEFAULT NULL,
  `taken_over_by` bigint(20) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_console_sessions_caller` (`caller_id`, `ended_at`),
  KEY `idx_console_sessions_seen` (`last_seen_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
