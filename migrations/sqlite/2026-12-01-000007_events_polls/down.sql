ALTER TABLE users DROP COLUMN actor_id;
DROP TABLE votes;
DROP TABLE poll_options;
DROP TABLE polls;
DROP TABLE participations;
DROP TABLE events;
