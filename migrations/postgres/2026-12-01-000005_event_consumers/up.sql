-- Each channel that tells the world (federation now; email and SMS later)
-- reads its own copy of an event, so one channel's progress or failure
-- does not hold back another's.
ALTER TABLE outgoing_events ADD COLUMN consumer TEXT NOT NULL DEFAULT 'federation';
CREATE INDEX outgoing_events_by_consumer ON outgoing_events (consumer, processed_at, id);
