-- Forums: FEP-1b12 groups. A forum is an actor of kind Group: ours (local)
-- or another server's (a Lemmy community, another co-op's forum) that a
-- the co-op follows. Its threads are objects of kind `thread` (a Page).
CREATE TABLE forums (
    actor_id BIGINT PRIMARY KEY NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- public, or members (HTML and JSON for logged-in members only).
    visibility TEXT NOT NULL DEFAULT 'public',
    -- Announcements only: threads by moderators, replies by anyone.
    posting_restricted BOOLEAN NOT NULL DEFAULT 0,
    -- For another server's group: our actor that follows it (the co-op).
    subscribed_by BIGINT REFERENCES actors (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE threads (
    object_id BIGINT PRIMARY KEY NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    forum_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    locked BOOLEAN NOT NULL DEFAULT 0,
    pinned BOOLEAN NOT NULL DEFAULT 0,
    -- The newest reply's time (or the thread's own): the forum's order.
    last_activity_at TIMESTAMP NOT NULL
);
CREATE INDEX threads_order ON threads (forum_id, pinned, last_activity_at);

-- Actors a forum's moderators banned: their activities to it get 403.
CREATE TABLE forum_bans (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    forum_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX forum_bans_once ON forum_bans (forum_id, actor_id);
