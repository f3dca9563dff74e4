-- A mention's notification keeps the post's ActivityPub id: a member's
-- report of the mention names it, since servers look up a Flag's objects
-- by id and the post's page (`link`) may be another address.
ALTER TABLE notifications ADD COLUMN object TEXT;
