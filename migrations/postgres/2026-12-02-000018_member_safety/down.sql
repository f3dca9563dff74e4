ALTER TABLE instance DROP COLUMN retention_log_days;
ALTER TABLE instance DROP COLUMN retention_message_days;
ALTER TABLE instance DROP COLUMN retention_remote_days;
ALTER TABLE reports DROP COLUMN forwarded_at;
ALTER TABLE reports DROP COLUMN reporter_user_id;
DROP TABLE member_blocks;
DROP TABLE notifications;
