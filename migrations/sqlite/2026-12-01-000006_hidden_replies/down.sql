ALTER TABLE objects DROP COLUMN hidden_at;
