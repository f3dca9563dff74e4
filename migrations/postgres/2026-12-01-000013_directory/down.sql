ALTER TABLE members DROP COLUMN directory;
