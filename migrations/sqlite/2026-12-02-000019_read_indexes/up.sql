-- Reads that every page makes and that scanned the objects table: the
-- replies under an object (listed in order, and counted), what an actor
-- wrote, and the reactions to an object.
CREATE INDEX objects_in_reply_to ON objects (in_reply_to, created_at, id);
CREATE INDEX objects_author ON objects (author_id);
CREATE INDEX reactions_object ON reactions (object_id, kind);
