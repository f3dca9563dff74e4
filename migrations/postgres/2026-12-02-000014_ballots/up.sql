-- Member ballots: a poll open only to active members of the register, one
-- member one vote (ICA Principle 2), with an opening time and a quorum.
ALTER TABLE polls ADD COLUMN ballot BOOLEAN NOT NULL DEFAULT FALSE;
-- Secret: who voted is kept apart from what was voted.
ALTER TABLE polls ADD COLUMN secret BOOLEAN NOT NULL DEFAULT FALSE;
-- Votes needed for the result to stand; NULL: no quorum.
ALTER TABLE polls ADD COLUMN quorum BIGINT;
ALTER TABLE polls ADD COLUMN opens_at TIMESTAMP;
-- Eligible members counted when the ballot closed (the result keeps it).
ALTER TABLE polls ADD COLUMN eligible BIGINT;

-- Who voted in a ballot: one row per member, whichever way they voted
-- (the web, or a linked account's Note, whose id is kept so it is not
-- shown as a reply).
CREATE TABLE ballot_voters (
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    ap_id TEXT,
    voted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (object_id, member_id)
);
CREATE INDEX ballot_voters_ap_id ON ballot_voters (ap_id);

-- What was voted in a secret ballot, with no voter, no time and no row
-- order to go by (the key is the hash of a random receipt), so nothing
-- ties a choice to a voter.
CREATE TABLE ballot_choices (
    receipt_hash TEXT PRIMARY KEY NOT NULL,
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    option_id BIGINT NOT NULL REFERENCES poll_options (id) ON DELETE CASCADE
);
CREATE INDEX ballot_choices_poll ON ballot_choices (object_id, option_id);
