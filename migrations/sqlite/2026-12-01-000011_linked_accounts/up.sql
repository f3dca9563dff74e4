-- Fediverse accounts a member has linked to their record. A link is proved
-- by a code the co-op sends to that account in a direct message (only the
-- SHA-256 of the code is kept); once verified, the account's follow of the
-- co-op is approved on its own, and members-only posts are delivered to it
-- while the member is active.
CREATE TABLE member_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    code_hash TEXT,
    code_expires_at TIMESTAMP,
    -- Wrong codes typed; at 5 the code stops working.
    attempts BIGINT NOT NULL DEFAULT 0,
    verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX member_accounts_actor ON member_accounts (actor_id);
CREATE INDEX member_accounts_member ON member_accounts (member_id);
