-- Drivers moved from one agent's queue to another's (`calldesk assign`, or the supervisor board):
-- one row per driver, who moved them (a supervisor's caller id; NULL from the command line) and when.
CREATE TABLE IF NOT EXISTS `queue_moves` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `driver_id` varchar(64) NOT NULL,
  `from_caller` int(11) NOT NULL,
  `to_caller` int(11) NOT NULL,
  `moved_by` int(11) DEFAULT NULL,
  `moved_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_queue_moves_driver` (`driver_id`, `id`),
  KEY `idx_queue_moves_at` (`moved_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
