-- The member register: the co-op's members, with or without an account
-- here (`user_id` once they set one up), and the invitations that lead to
-- an account.
CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    member_number TEXT,
    email TEXT,
    -- E.164, like +447700900123.
    phone TEXT,
    -- YYYY-MM-DD.
    joined_on TEXT,
    -- applicant, active, suspended or left.
    status TEXT NOT NULL DEFAULT 'active',
    -- admin, moderator, editor or member: the account's role once there is one.
    role TEXT NOT NULL DEFAULT 'member',
    -- Groups and committees, one per line.
    groups TEXT NOT NULL DEFAULT '',
    -- For admins only.
    notes TEXT NOT NULL DEFAULT '',
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX members_number ON members (member_number);
CREATE UNIQUE INDEX members_user ON members (user_id);

-- Single-use, expiring: the SHA-256 of the code is kept, never the code.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
