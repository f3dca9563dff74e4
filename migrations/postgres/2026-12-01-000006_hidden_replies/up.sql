-- A moderator's hiding of a reply (or any object): not served, listed or counted while set.
ALTER TABLE objects ADD COLUMN hidden_at TIMESTAMP;
