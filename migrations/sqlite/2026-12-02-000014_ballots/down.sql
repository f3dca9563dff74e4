DROP TABLE ballot_choices;
DROP TABLE ballot_voters;
ALTER TABLE polls DROP COLUMN eligible;
ALTER TABLE polls DROP COLUMN opens_at;
ALTER TABLE polls DROP COLUMN quorum;
ALTER TABLE polls DROP COLUMN secret;
ALTER TABLE polls DROP COLUMN ballot;
