ALTER TABLE outgoing_events DROP COLUMN due_at;
ALTER TABLE objects DROP COLUMN status;
