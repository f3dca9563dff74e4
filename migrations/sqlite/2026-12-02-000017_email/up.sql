-- Email: the newsletter, its public subscribers, and the queue the mail
-- worker drains (with retries), so that a mail survives a restart or an
-- SMTP server that is down.
CREATE TABLE newsletters (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- One newsletter per news item.
    object_id BIGINT NOT NULL UNIQUE REFERENCES objects (id) ON DELETE CASCADE,
    -- members, or everyone (members and confirmed subscribers).
    audience TEXT NOT NULL,
    -- planned (waits for the news to be published), queued, or cancelled.
    status TEXT NOT NULL DEFAULT 'planned',
    -- Frozen when queued: an edit of the news does not change mail in flight.
    subject TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL DEFAULT '',
    recipients BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    queued_at TIMESTAMP
);

CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- invitation, reset, confirm, notice or newsletter.
    kind TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- Empty for a newsletter's mail: its text is the newsletter's.
    body_text TEXT NOT NULL,
    newsletter_id BIGINT REFERENCES newsletters (id) ON DELETE CASCADE,
    -- queued, sent or failed.
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX mail_queue_due ON mail_queue (status, next_attempt_at);
CREATE INDEX mail_queue_newsletter ON mail_queue (newsletter_id, status);

-- People outside the co-op who asked for the newsletter (double opt-in:
-- only a confirmed address gets it). Addresses are kept lowercased.
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    confirm_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP
);

-- Addresses that unsubscribed, members' included, so that a new record or
-- an import does not mail them again.
CREATE TABLE unsubscribed (
    email TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL
);

-- The key of the unsubscribe links (an HMAC of the address), made on first use.
ALTER TABLE instance ADD COLUMN mail_secret TEXT;
-- The notices a user asked for by email, comma-separated (messages, replies, applications).
ALTER TABLE users ADD COLUMN email_notices TEXT NOT NULL DEFAULT '';
