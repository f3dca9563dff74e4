ALTER TABLE instance DROP COLUMN retention_log_days;
ALTER TABLE instance DROP COLUMN retention_message_days;
ALTER TABLE instance DROP COLUMN retention_remote_days;
-- SQLite cannot drop a column with a foreign key: the table is rebuilt
-- as it was, keeping its rows.
CREATE TABLE reports_before (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    activity_id TEXT NOT NULL,
    objects TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
INSERT INTO reports_before (id, actor_id, activity_id, objects, content, created_at, resolved_at)
    SELECT id, actor_id, activity_id, objects, content, created_at, resolved_at FROM reports;
DROP TABLE reports;
ALTER TABLE reports_before RENAME TO reports;
DROP TABLE member_blocks;
DROP TABLE notifications;
