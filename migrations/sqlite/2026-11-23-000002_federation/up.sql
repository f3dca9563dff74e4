-- Federation core: content objects, follows, reactions, the inbox log,
-- outgoing domain events, the outbox and its durable delivery queue.
ALTER TABLE instance ADD COLUMN federation_mode TEXT NOT NULL DEFAULT 'open';
ALTER TABLE instance ADD COLUMN authorized_fetch BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ap_type TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    in_reply_to TEXT,
    visibility TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    content_html TEXT NOT NULL DEFAULT '',
    source TEXT,
    slug TEXT,
    image_url TEXT,
    image_alt TEXT,
    url TEXT,
    local BOOLEAN NOT NULL,
    published_at TIMESTAMP,
    updated_at TIMESTAMP,
    deleted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX objects_kind_published ON objects (kind, local, published_at);
CREATE UNIQUE INDEX objects_slug ON objects (kind, slug);

CREATE TABLE follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    follower_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    followed_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    ap_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX follows_pair ON follows (follower_id, followed_id);
CREATE INDEX follows_followed ON follows (followed_id, state);

CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    ap_id TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reactions_once ON reactions (kind, actor_id, object_id);

CREATE TABLE inbox_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    activity_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    object TEXT,
    raw TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    activity_id TEXT NOT NULL,
    objects TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);

CREATE TABLE outgoing_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    processed_at TIMESTAMP
);
CREATE INDEX outgoing_events_pending ON outgoing_events (processed_at, id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    object_id BIGINT,
    json TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_actor ON outbox (actor_id, id);
CREATE INDEX outbox_object ON outbox (object_id);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deliveries_once ON deliveries (outbox_id, inbox);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

CREATE TABLE hosts (
    host TEXT PRIMARY KEY NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    unreachable_since TIMESTAMP,
    last_success_at TIMESTAMP
);

CREATE TABLE domain_blocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    domain TEXT NOT NULL,
    mode TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX domain_blocks_domain ON domain_blocks (domain, mode);
