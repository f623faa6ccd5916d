-- Corrections an agent made to a driver (name, mobile): the old value is kept.
CREATE TABLE IF NOT EXISTS `driver_edits` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `driver_id` varchar(64) NOT NULL,
  `field` varchar(20) NOT NULL,
  `old_value` varchar(255) DEFAULT NULL,
  `new_value` varchar(255) DEFAULT NULL,
  `edited_by` int DEFAULT NULL,
  `edited_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_driver_edits_driver` (`driver_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
