-- Direct messages are objects (a Note, visibility 'direct') with the
-- actors they were sent to; each recipient's row says whether they read it.
CREATE TABLE message_recipients (
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    read_at TIMESTAMP,
    PRIMARY KEY (object_id, actor_id)
);
CREATE INDEX message_recipients_actor ON message_recipients (actor_id, read_at);
-- A member who takes messages from other servers: their Person is then
-- findable with WebFinger, which it otherwise is only once it published.
ALTER TABLE users ADD COLUMN open_to_messages BOOLEAN NOT NULL DEFAULT FALSE;
