-- What a member shows in the members' directory (read by active members
-- only): a comma-separated choice of name, email, phone, groups. Empty:
-- not listed.
ALTER TABLE members ADD COLUMN directory TEXT NOT NULL DEFAULT '';
