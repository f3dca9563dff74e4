-- What happened for a user (a message, a reply to what they wrote, an RSVP
-- to an event they organise, an application for admins), read or not.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- message, reply, rsvp or application.
    kind TEXT NOT NULL,
    -- Who caused it, so that a mute or block hides it.
    actor_id BIGINT REFERENCES actors (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user ON notifications (user_id, id);

-- A member's blocks (no messages or notices from that actor) and mutes
-- (messages still come, without notices).
CREATE TABLE member_blocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX member_blocks_pair ON member_blocks (user_id, actor_id);

-- Reports by members (a Flag received has no reporter here), and when a
-- moderator forwarded one to the reported account's server.
ALTER TABLE reports ADD COLUMN reporter_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE reports ADD COLUMN forwarded_at TIMESTAMP;

-- Retention, in days (NULL keeps for ever): remote posts nobody here
-- answered, direct messages, and logs (the mail queue, read notifications).
ALTER TABLE instance ADD COLUMN retention_remote_days BIGINT;
ALTER TABLE instance ADD COLUMN retention_message_days BIGINT;
ALTER TABLE instance ADD COLUMN retention_log_days BIGINT;
