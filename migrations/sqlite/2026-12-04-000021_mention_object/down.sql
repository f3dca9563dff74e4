ALTER TABLE notifications DROP COLUMN object;
