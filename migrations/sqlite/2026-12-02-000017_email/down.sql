ALTER TABLE users DROP COLUMN email_notices;
ALTER TABLE instance DROP COLUMN mail_secret;
DROP TABLE unsubscribed;
DROP TABLE subscribers;
DROP TABLE mail_queue;
DROP TABLE newsletters;
