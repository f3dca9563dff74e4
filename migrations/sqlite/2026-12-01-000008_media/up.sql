-- Uploaded images: re-encoded (metadata dropped) into a display size and a
-- thumbnail under media_dir, named by an unguessable token.
CREATE TABLE media (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    user_id BIGINT,
    -- image/jpeg or image/png: what was written, not what was sent.
    media_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    thumb_width BIGINT NOT NULL,
    thumb_height BIGINT NOT NULL,
    alt TEXT NOT NULL,
    blurhash TEXT,
    bytes BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
