-- Calls whose status calldesk set (or could not confirm) without TeleCMI's word. A side table, so
-- `call_logs` keeps the old system's columns. `state`: 'unconfirmed' = the click-to-call request got
-- no answer (the call may still ring); 'provisional' = calldesk closed the call itself (call ceiling,
-- agent's "not placed"): TeleCMI's own report for the call corrects it, from `prior_status`.
-- `reason` is the remarks text calldesk wrote, cleared again when TeleCMI's word arrives.
CREATE TABLE IF NOT EXISTS `call_provisional` (
  `call_log_id` int(11) NOT NULL,
  `state` enum('unconfirmed','provisional') NOT NULL,
  `prior_status` varchar(50) NOT NULL,
  `reason` text NOT NULL,
  `since` datetime NOT NULL,
  PRIMARY KEY (`call_log_id`),
  KEY `idx_call_provisional_state` (`state`, `call_log_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
