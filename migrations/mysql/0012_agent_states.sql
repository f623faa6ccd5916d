-- The agent's own state (ready, or on a break with a reason), one row per change: the newest row
-- of a caller is their state now, and the rows of a day give that day's break time. In a call and
-- in wrap-up are not stored here: they follow from call_logs.
CREATE TABLE IF NOT EXISTS `agent_states` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `caller_id` int(11) NOT NULL,
  `state` enum('ready','break') NOT NULL,
  `reason` varchar(50) DEFAULT NULL,
  `started_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_agent_states_caller` (`caller_id`, `started_at`),
  KEY `idx_agent_states_started` (`started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The caller's daily target: calls with a positive outcome (`calldesk caller target ID N`).
ALTER TABLE `callers` ADD COLUMN `daily_target` int(11) DEFAULT NULL;
