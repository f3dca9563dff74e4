//! Surveys, their questions, and responses stored one answer per question.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Survey, SurveyQuestion};
use crate::db::schema::{survey_answers, survey_questions, survey_responses, surveys};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub struct NewSurvey<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub audience: &'a str,
    pub link_token: Option<&'a str>,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub created_by: i64,
}

/// (kind, prompt, required, options one per line)
pub type NewQuestion = (String, String, bool, String);

pub async fn insert(conn: &mut PooledConn, s: &NewSurvey<'_>, questions: &[NewQuestion]) -> DbResult<i64> {
    let at = now();
    let id: i64 = q!(conn, |c| diesel::insert_into(surveys::table)
        .values((
            surveys::slug.eq(s.slug),
            surveys::title.eq(s.title),
            surveys::description.eq(s.description),
            surveys::audience.eq(s.audience),
            surveys::link_token.eq(s.link_token),
            surveys::opens_at.eq(s.opens_at),
            surveys::closes_at.eq(s.closes_at),
            surveys::created_by.eq(Some(s.created_by)),
            surveys::created_at.eq(at),
        ))
        .returning(surveys::id)
        .get_result(c)
        .await)?;
    for (position, (kind, prompt, required, options)) in questions.iter().enumerate() {
        let position = position as i64;
        q!(conn, |c| diesel::insert_into(survey_questions::table)
            .values((
                survey_questions::survey_id.eq(id),
                survey_questions::position.eq(position),
                survey_questions::kind.eq(kind),
                survey_questions::prompt.eq(prompt),
                survey_questions::required.eq(*required),
                survey_questions::options.eq(options),
            ))
            .execute(c)
            .await)?;
    }
    Ok(id)
}

pub async fn slug_taken(conn: &mut PooledConn, slug: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| surveys::table
        .filter(surveys::slug.eq(slug))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

pub async fn find(conn: &mut PooledConn, id: i64) -> DbResult<Option<Survey>> {
    Ok(q!(conn, |c| surveys::table
        .find(id)
        .select(Survey::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_by_slug(conn: &mut PooledConn, slug: &str) -> DbResult<Option<Survey>> {
    Ok(q!(conn, |c| surveys::table
        .filter(surveys::slug.eq(slug))
        .select(Survey::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Surveys, newest first.
pub async fn list(conn: &mut PooledConn, limit: i64) -> DbResult<Vec<Survey>> {
    Ok(q!(conn, |c| surveys::table
        .order(surveys::id.desc())
        .limit(limit)
        .select(Survey::as_select())
        .load(c)
        .await)?)
}

pub async fn delete(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(surveys::table.find(id))
        .execute(c)
        .await)?)
}

pub async fn questions(conn: &mut PooledConn, survey_id: i64) -> DbResult<Vec<SurveyQuestion>> {
    Ok(q!(conn, |c| survey_questions::table
        .filter(survey_questions::survey_id.eq(survey_id))
        .order(survey_questions::position.asc())
        .select(SurveyQuestion::as_select())
        .load(c)
        .await)?)
}

/// The respondent's response id, made on their first answer.
pub async fn response_of(
    conn: &mut PooledConn,
    survey_id: i64,
    respondent: &str,
    create: bool,
) -> DbResult<Option<i64>> {
    let found: Option<i64> = q!(conn, |c| survey_responses::table
        .filter(survey_responses::survey_id.eq(survey_id))
        .filter(survey_responses::respondent.eq(respondent))
        .select(survey_responses::id)
        .first(c)
        .await
        .optional())?;
    if found.is_some() || !create {
        return Ok(found);
    }
    let at = now();
    q!(conn, |c| diesel::insert_into(survey_responses::table)
        .values((
            survey_responses::survey_id.eq(survey_id),
            survey_responses::respondent.eq(respondent),
            survey_responses::created_at.eq(at),
            survey_responses::updated_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(q!(conn, |c| survey_responses::table
        .filter(survey_responses::survey_id.eq(survey_id))
        .filter(survey_responses::respondent.eq(respondent))
        .select(survey_responses::id)
        .first(c)
        .await
        .optional())?)
}

/// Sets (or, with None, clears) one answer of a response.
pub async fn set_answer(
    conn: &mut PooledConn,
    response_id: i64,
    question_id: i64,
    value: Option<&str>,
) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        survey_answers::table
            .filter(survey_answers::response_id.eq(response_id))
            .filter(survey_answers::question_id.eq(question_id))
    )
    .execute(c)
    .await)?;
    if let Some(v) = value {
        q!(conn, |c| diesel::insert_into(survey_answers::table)
            .values((
                survey_answers::response_id.eq(response_id),
                survey_answers::question_id.eq(question_id),
                survey_answers::value.eq(v),
            ))
            .execute(c)
            .await)?;
    }
    let at = now();
    q!(conn, |c| diesel::update(
        survey_responses::table.find(response_id)
    )
    .set(survey_responses::updated_at.eq(at))
    .execute(c)
    .await)?;
    Ok(())
}

/// One response's answers: (question id, value).
pub async fn answers_of(conn: &mut PooledConn, response_id: i64) -> DbResult<Vec<(i64, String)>> {
    Ok(q!(conn, |c| survey_answers::table
        .filter(survey_answers::response_id.eq(response_id))
        .select((survey_answers::question_id, survey_answers::value))
        .load(c)
        .await)?)
}

/// Every answer of a survey: (response id, question id, value), by response.
pub async fn all_answers(conn: &mut PooledConn, survey_id: i64) -> DbResult<Vec<(i64, i64, String)>> {
    Ok(q!(conn, |c| survey_answers::table
        .inner_join(survey_responses::table.on(survey_responses::id.eq(survey_answers::response_id)))
        .filter(survey_responses::survey_id.eq(survey_id))
        .order((
            survey_answers::response_id.asc(),
            survey_answers::question_id.asc()
        ))
        .select((
            survey_answers::response_id,
            survey_answers::question_id,
            survey_answers::value
        ))
        .load(c)
        .await)?)
}

/// Responses with at least one answer, and when each was last changed.
pub async fn responses(conn: &mut PooledConn, survey_id: i64) -> DbResult<Vec<(i64, NaiveDateTime)>> {
    Ok(q!(conn, |c| survey_responses::table
        .filter(survey_responses::survey_id.eq(survey_id))
        .filter(diesel::dsl::exists(
            survey_answers::table.filter(survey_answers::response_id.eq(survey_responses::id)),
        ))
        .order(survey_responses::id.asc())
        .select((survey_responses::id, survey_responses::updated_at))
        .load(c)
        .await)?)
}
