DROP TABLE message_recipients;
ALTER TABLE users DROP COLUMN open_to_messages;
