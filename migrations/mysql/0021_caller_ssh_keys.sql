-- Callers' SSH public keys (the team host: sshd asks `calldesk ssh authorized-keys` about each key
-- at login). The fingerprint (SHA256 of the decoded blob, as `ssh-keygen -lf` prints it) is the
-- primary key: one row per key blob, so a key belongs to one caller, and the login's lookup is one
-- key read (a blob is too long for a plain unique index). Public keys only: nothing here is a secret.
CREATE TABLE IF NOT EXISTS `caller_ssh_keys` (
  `fingerprint` varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  `caller_id` int(11) NOT NULL,
  `key_type` varchar(64) NOT NULL,
  `key_base64` text NOT NULL,
  `comment` varchar(255) NOT NULL DEFAULT '',
  `added_at` datetime NOT NULL,
  PRIMARY KEY (`fingerprint`),
  KEY `caller_ssh_keys_caller` (`caller_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
