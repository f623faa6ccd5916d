-- Which edit a stored draft is: the console session that typed it and that console's edit counter.
-- A console also keeps its drafts in a local file (issue 26); at start it reopens whichever copy
-- is newer by (edit_session, edit_seq), never by a clock. 0, 0: written before this column, or by
-- a writer without a session (the load test).
ALTER TABLE `feedback_drafts`
  ADD COLUMN `edit_session` bigint(20) NOT NULL DEFAULT 0,
  ADD COLUMN `edit_seq` bigint(20) NOT NULL DEFAULT 0;
