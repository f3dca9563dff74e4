-- News can be saved as a draft, or published at a later time: a draft is
-- 'draft'; published news with a future published_at is scheduled, and its
-- publication event waits until due_at.
ALTER TABLE objects ADD COLUMN status TEXT NOT NULL DEFAULT 'published';
ALTER TABLE outgoing_events ADD COLUMN due_at TIMESTAMP;
