DROP TABLE survey_answers;
DROP TABLE survey_responses;
DROP TABLE survey_questions;
DROP TABLE surveys;
