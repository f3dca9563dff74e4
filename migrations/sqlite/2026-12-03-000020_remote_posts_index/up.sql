-- The home page's "from the fediverse" list: remote posts that are not
-- replies, newest first. Without it the query walked every top-level local
-- object through objects_in_reply_to and sorted them (5 ms at 11,000 news
-- and events, growing with them).
CREATE INDEX objects_remote_posts ON objects (local, in_reply_to, id);
