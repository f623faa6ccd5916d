-- The do-not-call list: numbers (normalised, with the country code, as drivers.mobile) that no
-- call may go to, with who added each, when and why. The primary key is the lookup the dialer, the
-- due queue (NOT EXISTS per row) and search use; removing a number undoes all of it.
CREATE TABLE IF NOT EXISTS dnc_numbers (
  number TEXT PRIMARY KEY,
  reason TEXT DEFAULT NULL,
  added_by INTEGER DEFAULT NULL,
  added_by_name TEXT NOT NULL,
  added_at TEXT NOT NULL
);
