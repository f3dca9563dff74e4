-- Events and polls: their fields beyond `objects`, keyed by the object.
CREATE TABLE events (
    object_id BIGINT PRIMARY KEY NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    -- An IANA name (Europe/Paris): times are stored in UTC and shown in it.
    timezone TEXT NOT NULL,
    location_name TEXT,
    address TEXT,
    latitude DOUBLE,
    longitude DOUBLE,
    online_url TEXT,
    capacity BIGINT,
    -- free (anyone who joins is in) or closed (no new participants).
    join_mode TEXT NOT NULL DEFAULT 'free',
    category TEXT,
    comments_enabled BOOLEAN NOT NULL DEFAULT 1,
    cancelled_at TIMESTAMP
);
CREATE INDEX events_starts ON events (starts_at);

-- Who takes part in an event: a remote actor's Join, or a local user's
-- RSVP (through their Person actor).
CREATE TABLE participations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- The Join activity's id (named by our Accept); NULL for a local RSVP.
    ap_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX participations_once ON participations (object_id, actor_id);

CREATE TABLE polls (
    object_id BIGINT PRIMARY KEY NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    -- anyOf (several options per voter) rather than oneOf.
    multiple BOOLEAN NOT NULL,
    closes_at TIMESTAMP NOT NULL
);
CREATE INDEX polls_closes ON polls (closes_at);

CREATE TABLE poll_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX poll_options_name ON poll_options (object_id, name);

CREATE TABLE votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    option_id BIGINT NOT NULL REFERENCES poll_options (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- The vote Note's id; NULL for a local vote.
    ap_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX votes_once ON votes (option_id, actor_id);
CREATE INDEX votes_poll ON votes (object_id, actor_id);

-- A local user's own Person actor, made on first need (a reply, an RSVP, a vote).
ALTER TABLE users ADD COLUMN actor_id BIGINT;
