-- calldesk schema on MySQL/MariaDB. `call_logs` is the old system's table, column for column;
-- every statement creates only what is missing, so a database that already holds it keeps its rows.
-- All timestamps are UTC (calldesk sets the session time zone to +00:00).

CREATE TABLE IF NOT EXISTS `call_logs` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `reference_id` varchar(255) DEFAULT NULL,
  `caller_id` int(11) DEFAULT NULL,
  `driver_id` varchar(50) DEFAULT NULL,
  `driver_mobile` varchar(20) DEFAULT NULL,
  `driver_name` varchar(255) DEFAULT NULL,
  `driver_tmid` varchar(50) DEFAULT NULL,
  `call_type` enum('ivr','manual') DEFAULT 'manual',
  `status` varchar(50) DEFAULT 'initiated',
  `provider` enum('telecmi','manual','myoperator') DEFAULT 'manual',
  `telecmi_user_id` varchar(100) DEFAULT NULL,
  `feedback` text DEFAULT NULL,
  `remarks` text DEFAULT NULL,
  `call_duration` int(11) DEFAULT 0,
  `created_at` timestamp NOT NULL DEFAULT current_timestamp(),
  `updated_at` timestamp NULL DEFAULT NULL ON UPDATE current_timestamp(),
  PRIMARY KEY (`id`),
  KEY `idx_reference_id` (`reference_id`),
  KEY `idx_caller_id` (`caller_id`),
  KEY `idx_driver_id` (`driver_id`),
  KEY `idx_provider` (`provider`),
  KEY `idx_created_at` (`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `callers` (
  `id` int(11) NOT NULL,
  `name` varchar(255) NOT NULL,
  `role` enum('agent','supervisor') NOT NULL DEFAULT 'agent',
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `drivers` (
  `id` varchar(50) NOT NULL,
  `name` varchar(255) NOT NULL,
  `mobile` varchar(20) NOT NULL,
  `tmid` varchar(50) DEFAULT NULL,
  `city` varchar(100) DEFAULT NULL,
  `state` varchar(100) DEFAULT NULL,
  `assigned_to` int(11) DEFAULT NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_drivers_mobile` (`mobile`),
  KEY `idx_drivers_tmid` (`tmid`),
  KEY `idx_drivers_assigned_to` (`assigned_to`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Who is due to be called by whom, and when. priority 0 = a callback the driver asked for.
CREATE TABLE IF NOT EXISTS `call_queue` (
  `driver_id` varchar(50) NOT NULL,
  `caller_id` int(11) NOT NULL,
  `priority` int(11) NOT NULL DEFAULT 1,
  `due_at` datetime NOT NULL,
  `attempts` int(11) NOT NULL DEFAULT 0,
  `last_outcome` varchar(255) DEFAULT NULL,
  `claimed_by` int(11) DEFAULT NULL,
  `claimed_until` datetime DEFAULT NULL,
  PRIMARY KEY (`driver_id`),
  KEY `idx_queue_due` (`caller_id`, `priority`, `due_at`, `driver_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `webhook_events` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `received_at` datetime NOT NULL,
  `dedup_key` varchar(255) NOT NULL,
  `call_log_id` int(11) DEFAULT NULL,
  `reference` varchar(255) DEFAULT NULL,
  `kind` varchar(20) NOT NULL,
  `leg` varchar(4) NOT NULL DEFAULT '',
  `status` varchar(50) NOT NULL DEFAULT '',
  `payload` mediumtext NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_webhook_events_dedup` (`dedup_key`),
  KEY `idx_webhook_events_call` (`call_log_id`, `id`),
  KEY `idx_webhook_events_received` (`received_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `api_tokens` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `caller_id` int(11) NOT NULL,
  `token_hash` char(64) NOT NULL,
  `created_at` datetime NOT NULL,
  `revoked_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_api_tokens_hash` (`token_hash`),
  KEY `idx_api_tokens_caller` (`caller_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What the agent has typed into an unfinished wrap-up, saved as they type.
CREATE TABLE IF NOT EXISTS `feedback_drafts` (
  `call_log_id` int(11) NOT NULL,
  `caller_id` int(11) NOT NULL,
  `feedback_group` varchar(32) DEFAULT NULL,
  `feedback` varchar(255) DEFAULT NULL,
  `remarks` text DEFAULT NULL,
  `call_duration` varchar(16) DEFAULT NULL,
  `updated_at` datetime NOT NULL,
  PRIMARY KEY (`call_log_id`),
  KEY `idx_feedback_drafts_caller` (`caller_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `calldesk_settings` (
  `name` varchar(64) NOT NULL,
  `value` text NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
