DROP INDEX outgoing_events_by_consumer;
ALTER TABLE outgoing_events DROP COLUMN consumer;
