-- Surveys: local (not federated) questionnaires for active members or for
-- anyone with the link. Answers are stored one per question, so that a
-- survey can be answered question by question (the web form sends them
-- together; SMS will send one at a time).
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- members (active members of the register) or link (anyone with it).
    audience TEXT NOT NULL,
    -- The secret part of a link survey's address; NULL for members.
    link_token TEXT,
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE survey_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    survey_id BIGINT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    -- single, multiple, text, number or scale (1 to 5).
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    -- The choices of single and multiple questions, one per line.
    options TEXT NOT NULL DEFAULT ''
);
CREATE INDEX survey_questions_survey ON survey_questions (survey_id, position);

-- One response per respondent: `member:{id}` or `visitor:{hash}` (a link
-- survey's anonymous respondent, by a cookie), editable until the close.
CREATE TABLE survey_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    survey_id BIGINT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    respondent TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX survey_responses_once ON survey_responses (survey_id, respondent);

-- An answer: the chosen options' positions (comma-separated), the text,
-- the number or the scale value.
CREATE TABLE survey_answers (
    response_id BIGINT NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
    question_id BIGINT NOT NULL REFERENCES survey_questions (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (response_id, question_id)
);
