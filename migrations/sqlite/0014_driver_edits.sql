-- Corrections an agent made to a driver (name, mobile): the old value is kept.
CREATE TABLE IF NOT EXISTS driver_edits (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  driver_id TEXT NOT NULL,
  field TEXT NOT NULL,
  old_value TEXT,
  new_value TEXT,
  edited_by INTEGER,
  edited_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_driver_edits_driver ON driver_edits (driver_id, id);
