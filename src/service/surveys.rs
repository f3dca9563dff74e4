//! Surveys: questionnaires for the register's active members, or for anyone
//! with the link, open between two times, one response per respondent,
//! editable until the close. They stay local (no federation: a survey's
//! answers are the co-op's business).
//!
//! A response is stored one answer per question, and `answer` takes one
//! question at a time, so that SMS can put the questions one by one; the
//! web form checks every answer first and writes them in one transaction.
//! A choice is given by its text or by its number (1, 2, ... as a phone
//! keypad would send it).

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::types::UserRole;
use super::{Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Survey, SurveyQuestion};
use crate::db::queries::{accounts as accounts_q, surveys as q};
use crate::db::{now, PooledConn};

pub const KINDS: [&str; 5] = ["single", "multiple", "text", "number", "scale"];
pub const AUDIENCES: [&str; 2] = ["members", "link"];

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SurveyInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// `members` (default) or `link`.
    #[serde(default)]
    pub audience: String,
    /// RFC 3339 or `YYYY-MM-DDTHH:MM` UTC; empty: now.
    #[serde(default)]
    pub opens_at: String,
    #[serde(default)]
    pub closes_at: String,
    #[serde(default)]
    pub questions: Vec<QuestionInput>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct QuestionInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

/// A survey with its questions in order.
#[derive(Debug, Clone)]
pub struct SurveyView {
    pub survey: Survey,
    pub questions: Vec<SurveyQuestion>,
}

impl SurveyView {
    pub fn is_open(&self) -> bool {
        let t = now();
        self.survey.opens_at <= t && t < self.survey.closes_at
    }

    pub fn is_closed(&self) -> bool {
        self.survey.closes_at <= now()
    }
}

/// Who answers: one response each. A member of the register, whichever
/// way they come; or, in a link survey, a visitor known by a cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Respondent {
    Member(i64),
    Visitor(String),
}

impl Respondent {
    fn key(&self) -> String {
        match self {
            Respondent::Member(id) => format!("member:{id}"),
            Respondent::Visitor(token) => format!("visitor:{}", crate::crypto::token_hash(token)),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check(input: &SurveyInput) -> ServiceResult<(String, Vec<q::NewQuestion>, NaiveDateTime, NaiveDateTime)> {
    let mut errors = FieldErrors::default();
    let title = one_line(&input.title);
    if title.is_empty() || title.chars().count() > 200 || title.contains('\0') {
        errors.add("title", "Give the survey a title of 1 to 200 characters.");
    }
    if input.description.chars().count() > 5000 || input.description.contains('\0') {
        errors.add("description", "Keep the description under 5,000 characters.");
    }
    if !AUDIENCES.contains(&audience_of(input)) {
        errors.add(
            "audience",
            "Choose who answers: members, or anyone with the link.",
        );
    }
    let mut questions = Vec::new();
    for (i, qi) in input.questions.iter().enumerate() {
        let n = i + 1;
        let prompt = one_line(&qi.prompt);
        if prompt.is_empty() {
            continue;
        }
        if prompt.chars().count() > 500 || prompt.contains('\0') {
            errors.add(
                "questions",
                format!("Question {n}: keep it under 500 characters."),
            );
        }
        if !KINDS.contains(&qi.kind.as_str()) {
            errors.add(
                "questions",
                format!("Question {n}: choose its kind (single, multiple, text, number or scale)."),
            );
        }
        let mut options: Vec<String> = Vec::new();
        for o in qi
            .options
            .iter()
            .flat_map(|o| o.lines())
            .map(one_line)
            .filter(|o| !o.is_empty())
        {
            if o.chars().count() > 200 || options.iter().any(|x| x.eq_ignore_ascii_case(&o)) {
                errors.add(
                    "questions",
                    format!("Question {n}: each choice must be different and under 200 characters."),
                );
            }
            options.push(o);
        }
        let choice = matches!(qi.kind.as_str(), "single" | "multiple");
        if choice && !(2..=20).contains(&options.len()) {
            errors.add(
                "questions",
                format!("Question {n}: give 2 to 20 choices, one per line."),
            );
        }
        if !choice {
            options.clear();
        }
        questions.push((qi.kind.clone(), prompt, qi.required, options.join("\n")));
    }
    if questions.is_empty() || questions.len() > 50 {
        errors.add("questions", "Ask 1 to 50 questions.");
    }
    let time = |raw: &str, field: &'static str| {
        super::news::parse_publish_time(raw).map_err(|_| {
            ServiceError::invalid(field, "Give the time as 2026-12-24T18:00 (UTC) or in RFC 3339.")
        })
    };
    let opens = errors
        .take(time(&input.opens_at, "opens_at"))?
        .flatten()
        .unwrap_or_else(now);
    let closes = errors.take(time(&input.closes_at, "closes_at"))?.flatten();
    let closes = match closes {
        Some(c) if c <= opens || c <= now() => {
            errors.add(
                "closes_at",
                "The closing time must be in the future and after the opening.",
            );
            None
        }
        Some(c) => Some(c),
        None => {
            errors.add("closes_at", "Say when the survey closes.");
            None
        }
    };
    errors.finish()?;
    Ok((title, questions, opens, closes.unwrap_or_default()))
}

fn audience_of(input: &SurveyInput) -> &str {
    if input.audience.is_empty() {
        "members"
    } else {
        input.audience.as_str()
    }
}

/// Makes a survey (editors). A link survey gets the secret part of its
/// address here.
pub async fn create(ctx: &Ctx, caller: &Caller, input: &SurveyInput) -> ServiceResult<SurveyView> {
    let by = caller.require(UserRole::Editor)?;
    let (title, questions, opens_at, closes_at) = check(input)?;
    let audience = audience_of(input);
    let token = (audience == "link").then(crate::crypto::random_token);
    let mut tx = ctx.db.begin().await?;
    let base = super::text::slugify(&title);
    let base = if base.is_empty() {
        "survey".to_string()
    } else {
        base
    };
    let mut slug = base.clone();
    let mut n = 2;
    while q::slug_taken(&mut tx, &slug).await? {
        slug = format!("{base}-{n}");
        n += 1;
    }
    let id = q::insert(
        &mut tx,
        &q::NewSurvey {
            slug: &slug,
            title: &title,
            description: input.description.trim(),
            audience,
            link_token: token.as_deref(),
            opens_at,
            closes_at,
            created_by: by,
        },
        &questions,
    )
    .await?;
    accounts_q::audit(&mut tx, Some(by), "survey.create", &slug).await?;
    tx.commit().await?;
    let mut conn = ctx.db.conn().await?;
    view_on(&mut conn, id).await
}

async fn view_on(conn: &mut PooledConn, id: i64) -> ServiceResult<SurveyView> {
    let survey = q::find(conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no survey with id {id}.")))?;
    let questions = q::questions(conn, id).await?;
    Ok(SurveyView { survey, questions })
}

pub async fn delete(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Editor)?;
    let mut tx = ctx.db.begin().await?;
    let view = view_on(&mut tx, id).await?;
    q::delete(&mut tx, id).await?;
    accounts_q::audit(&mut tx, Some(by), "survey.delete", &view.survey.slug).await?;
    tx.commit().await?;
    Ok(())
}

/// The active member record behind a caller, if any.
async fn member_of(conn: &mut PooledConn, caller: &Caller) -> ServiceResult<Option<i64>> {
    Ok(super::member_links::active_member(conn, caller)
        .await?
        .map(|m| m.id))
}

/// A survey the caller may open: editors always; a members' survey for
/// active members; a link survey with its link's `key`. Anyone else gets
/// `404`, as for a survey that does not exist.
pub async fn open_for(
    ctx: &Ctx,
    caller: &Caller,
    slug: &str,
    key: Option<&str>,
) -> ServiceResult<SurveyView> {
    let mut conn = ctx.db.conn().await?;
    let survey = q::find_by_slug(&mut conn, slug).await?;
    allowed(&mut conn, caller, survey, key).await
}

/// As `open_for`, by id (the API).
pub async fn open_by_id(ctx: &Ctx, caller: &Caller, id: i64, key: Option<&str>) -> ServiceResult<SurveyView> {
    let mut conn = ctx.db.conn().await?;
    let survey = q::find(&mut conn, id).await?;
    allowed(&mut conn, caller, survey, key).await
}

async fn allowed(
    conn: &mut PooledConn,
    caller: &Caller,
    survey: Option<Survey>,
    key: Option<&str>,
) -> ServiceResult<SurveyView> {
    let missing = || ServiceError::NotFound("There is no such survey.".into());
    let survey = survey.ok_or_else(missing)?;
    let allowed = caller.can(UserRole::Editor)
        || match survey.audience.as_str() {
            "link" => match (key, &survey.link_token) {
                (Some(k), Some(t)) => crate::crypto::constant_time_eq(k, t),
                _ => false,
            },
            _ => member_of(conn, caller).await?.is_some(),
        };
    if !allowed {
        return Err(missing());
    }
    view_on(conn, survey.id).await
}

/// Surveys a caller sees listed: editors all of them; active members the
/// members' surveys (link surveys are reached by their link only).
pub async fn list(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Survey>> {
    let mut conn = ctx.db.conn().await?;
    let all = q::list(&mut conn, 200).await?;
    if caller.can(UserRole::Editor) {
        return Ok(all);
    }
    if member_of(&mut conn, caller).await?.is_none() {
        return Ok(Vec::new());
    }
    Ok(all.into_iter().filter(|s| s.audience == "members").collect())
}

/// Who the caller answers as. Members answer as their record everywhere;
/// in a link survey anyone else answers as their visitor cookie.
pub async fn respondent(
    ctx: &Ctx,
    caller: &Caller,
    view: &SurveyView,
    visitor: Option<&str>,
) -> ServiceResult<Respondent> {
    let mut conn = ctx.db.conn().await?;
    if let Some(id) = member_of(&mut conn, caller).await? {
        return Ok(Respondent::Member(id));
    }
    match (view.survey.audience.as_str(), visitor) {
        ("link", Some(token)) if !token.is_empty() => Ok(Respondent::Visitor(token.to_string())),
        ("link", _) => Err(ServiceError::invalid(
            "respondent",
            "Your browser did not keep this survey's cookie: allow cookies for this site and try again.",
        )),
        _ => Err(ServiceError::Forbidden(
            "This survey is for the co-op's active members, one response each: your account is not an active member's in the register."
                .into(),
        )),
    }
}

/// Checks one answer; returns what is stored (None: no answer).
fn parse_answer(question: &SurveyQuestion, raw: &[String]) -> Result<Option<String>, String> {
    let raw: Vec<&str> = raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if raw.is_empty() {
        return if question.required {
            Err("This question needs an answer.".into())
        } else {
            Ok(None)
        };
    }
    match question.kind.as_str() {
        "single" | "multiple" => {
            let choices = question.choices();
            let mut picked: Vec<usize> = Vec::new();
            for r in &raw {
                let number = |n: &str| {
                    n.parse::<usize>()
                        .ok()
                        .filter(|n| (1..=choices.len()).contains(n))
                        .map(|n| n - 1)
                };
                // `#2` is the second choice whatever the choices say (the
                // web form's value); otherwise a choice's text, then a number.
                let position = match r.strip_prefix('#') {
                    Some(n) => number(n),
                    None => choices
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(r))
                        .or_else(|| number(r)),
                };
                match position {
                    Some(p) if !picked.contains(&p) => picked.push(p),
                    Some(_) => {}
                    None => return Err(format!("{r:?} is not one of the choices.")),
                }
            }
            if question.kind == "single" && picked.len() > 1 {
                return Err("Choose one answer.".into());
            }
            picked.sort_unstable();
            Ok(Some(
                picked.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","),
            ))
        }
        "number" => {
            let [one] = raw.as_slice() else {
                return Err("Give one number.".into());
            };
            match one.replace(',', ".").parse::<f64>() {
                Ok(n) if n.is_finite() && n.abs() < 1e12 => Ok(Some(n.to_string())),
                _ => Err(format!("{one:?} is not a number.")),
            }
        }
        "scale" => match raw.as_slice() {
            [one] => match one.parse::<u8>() {
                Ok(n @ 1..=5) => Ok(Some(n.to_string())),
                _ => Err("Answer with a number from 1 to 5.".into()),
            },
            _ => Err("Answer with a number from 1 to 5.".into()),
        },
        _ => {
            let text = raw.join("\n");
            if text.chars().count() > 2000 || text.contains('\0') {
                Err("Keep the answer under 2,000 characters.".into())
            } else {
                Ok(Some(text))
            }
        }
    }
}

fn check_open(view: &SurveyView) -> ServiceResult<()> {
    if view.is_closed() {
        return Err(ServiceError::Conflict(
            "This survey is closed: answers can no longer be given or changed.".into(),
        ));
    }
    if !view.is_open() {
        return Err(ServiceError::Conflict(
            "This survey is not open yet: come back at its opening time.".into(),
        ));
    }
    Ok(())
}

/// Answers one question (SMS's path: one at a time).
pub async fn answer(
    ctx: &Ctx,
    view: &SurveyView,
    who: &Respondent,
    question_id: i64,
    raw: &[String],
) -> ServiceResult<()> {
    check_open(view)?;
    let question = view
        .questions
        .iter()
        .find(|q| q.id == question_id)
        .ok_or_else(|| ServiceError::invalid("question", "There is no such question in this survey."))?;
    let value = parse_answer(question, raw).map_err(|m| ServiceError::invalid("answers", m))?;
    let mut tx = ctx.db.begin().await?;
    let response = q::response_of(&mut tx, view.survey.id, &who.key(), true)
        .await?
        .ok_or_else(|| ServiceError::Internal("no response row after insert".into()))?;
    q::set_answer(&mut tx, response, question.id, value.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

/// Answers the whole survey: every answer is checked first (errors name
/// the question), then all are written in one transaction.
pub async fn answer_all(
    ctx: &Ctx,
    view: &SurveyView,
    who: &Respondent,
    answers: &HashMap<i64, Vec<String>>,
) -> ServiceResult<()> {
    check_open(view)?;
    if let Some(unknown) = answers
        .keys()
        .find(|id| !view.questions.iter().any(|q| q.id == **id))
    {
        return Err(ServiceError::invalid(
            "answers",
            format!("There is no question {unknown} in this survey."),
        ));
    }
    let mut errors = FieldErrors::default();
    let mut values = Vec::new();
    for (n, question) in view.questions.iter().enumerate() {
        let raw = answers.get(&question.id).map(Vec::as_slice).unwrap_or(&[]);
        match parse_answer(question, raw) {
            Ok(v) => values.push((question.id, v)),
            Err(m) => errors.add(
                "answers",
                format!("Question {} ({}): {m}", n + 1, question.prompt),
            ),
        }
    }
    errors.finish()?;
    let mut tx = ctx.db.begin().await?;
    let response = q::response_of(&mut tx, view.survey.id, &who.key(), true)
        .await?
        .ok_or_else(|| ServiceError::Internal("no response row after insert".into()))?;
    for (qid, v) in values {
        q::set_answer(&mut tx, response, qid, v.as_deref()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The respondent's answers so far, as the form shows them back: choice
/// positions as choice numbers from 1, the rest as stored.
pub async fn answers_of(
    ctx: &Ctx,
    view: &SurveyView,
    who: &Respondent,
) -> ServiceResult<HashMap<i64, String>> {
    let mut conn = ctx.db.conn().await?;
    let Some(response) = q::response_of(&mut conn, view.survey.id, &who.key(), false).await? else {
        return Ok(HashMap::new());
    };
    Ok(q::answers_of(&mut conn, response).await?.into_iter().collect())
}

/// One question's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuestionResult {
    pub id: i64,
    pub prompt: String,
    pub kind: String,
    /// How many responses answered it.
    pub answered: i64,
    /// Choices (or scale values 1 to 5) with their counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<(String, i64)>,
    /// The mean of numbers and scales.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Text answers, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    pub responses: i64,
    pub questions: Vec<QuestionResult>,
    /// Each response's answers, as shown (for the CSV): one row per
    /// response, one column per question, with when it was last changed.
    #[serde(skip)]
    pub rows: Vec<(NaiveDateTime, Vec<String>)>,
}

/// A stored value as people read it: choice names for choices.
fn shown(question: &SurveyQuestion, value: &str) -> String {
    match question.kind.as_str() {
        "single" | "multiple" => {
            let choices = question.choices();
            value
                .split(',')
                .filter_map(|p| p.parse::<usize>().ok())
                .filter_map(|p| choices.get(p).copied())
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => value.to_string(),
    }
}

/// The results (editors): counts per choice, means, texts, and the rows.
pub async fn results(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<(SurveyView, Results)> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    let view = view_on(&mut conn, id).await?;
    let responses = q::responses(&mut conn, id).await?;
    let answers = q::all_answers(&mut conn, id).await?;
    let mut questions = Vec::new();
    for question in &view.questions {
        let values: Vec<&str> = answers
            .iter()
            .filter(|(_, qid, _)| *qid == question.id)
            .map(|(_, _, v)| v.as_str())
            .collect();
        let mut result = QuestionResult {
            id: question.id,
            prompt: question.prompt.clone(),
            kind: question.kind.clone(),
            answered: values.len() as i64,
            counts: Vec::new(),
            mean: None,
            texts: Vec::new(),
        };
        match question.kind.as_str() {
            "single" | "multiple" => {
                result.counts = question
                    .choices()
                    .iter()
                    .enumerate()
                    .map(|(p, c)| {
                        let n = values
                            .iter()
                            .filter(|v| v.split(',').any(|x| x == p.to_string()))
                            .count() as i64;
                        (c.to_string(), n)
                    })
                    .collect();
            }
            "number" | "scale" => {
                let numbers: Vec<f64> = values.iter().filter_map(|v| v.parse().ok()).collect();
                if !numbers.is_empty() {
                    result.mean = Some(numbers.iter().sum::<f64>() / numbers.len() as f64);
                }
                if question.kind == "scale" {
                    result.counts = (1..=5)
                        .map(|s| {
                            (
                                s.to_string(),
                                values.iter().filter(|v| **v == s.to_string()).count() as i64,
                            )
                        })
                        .collect();
                }
            }
            _ => result.texts = values.iter().map(|v| v.to_string()).collect(),
        }
        questions.push(result);
    }
    let rows = responses
        .iter()
        .map(|(rid, at)| {
            let cells = view
                .questions
                .iter()
                .map(|question| {
                    answers
                        .iter()
                        .find(|(r, qid, _)| r == rid && *qid == question.id)
                        .map(|(_, _, v)| shown(question, v))
                        .unwrap_or_default()
                })
                .collect();
            (*at, cells)
        })
        .collect();
    Ok((
        view,
        Results {
            responses: responses.len() as i64,
            questions,
            rows,
        },
    ))
}

/// The responses as CSV (RFC 4180): one row each, one column per question.
pub fn results_csv(view: &SurveyView, results: &Results) -> String {
    let f = super::text::csv_field;
    let mut out = String::from("updated_at");
    for question in &view.questions {
        out.push(',');
        out.push_str(&f(&question.prompt));
    }
    out.push_str("\r\n");
    for (at, cells) in &results.rows {
        out.push_str(&at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        for c in cells {
            out.push(',');
            out.push_str(&f(c));
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(kind: &str, required: bool, options: &str) -> SurveyQuestion {
        SurveyQuestion {
            id: 1,
            survey_id: 1,
            position: 0,
            kind: kind.into(),
            prompt: "Q".into(),
            required,
            options: options.into(),
        }
    }

    #[test]
    fn answers_are_read_as_a_phone_would_send_them() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let single = question("single", true, "Tea\nCoffee\nWater");
        assert_eq!(parse_answer(&single, &s(&["coffee"])), Ok(Some("1".into())));
        assert_eq!(parse_answer(&single, &s(&["3"])), Ok(Some("2".into())));
        let numbered = question("single", true, "0\n1\n2");
        assert_eq!(
            parse_answer(&numbered, &s(&["#1"])),
            Ok(Some("0".into())),
            "the first choice, 0"
        );
        assert_eq!(
            parse_answer(&numbered, &s(&["1"])),
            Ok(Some("1".into())),
            "the choice named 1"
        );
        assert!(parse_answer(&single, &s(&["4"])).is_err());
        assert!(parse_answer(&single, &s(&["1", "2"])).is_err());
        assert!(parse_answer(&single, &s(&[" "])).is_err(), "required");
        let multiple = question("multiple", false, "Tea\nCoffee\nWater");
        assert_eq!(parse_answer(&multiple, &s(&["3", "Tea"])), Ok(Some("0,2".into())));
        assert_eq!(parse_answer(&multiple, &s(&[])), Ok(None));
        let scale = question("scale", true, "");
        assert_eq!(parse_answer(&scale, &s(&["5"])), Ok(Some("5".into())));
        assert!(parse_answer(&scale, &s(&["6"])).is_err());
        let number = question("number", true, "");
        assert_eq!(parse_answer(&number, &s(&["2,5"])), Ok(Some("2.5".into())));
        assert!(parse_answer(&number, &s(&["NaN"])).is_err());
        assert!(parse_answer(&number, &s(&["lots"])).is_err());
        assert_eq!(shown(&multiple, "0,2"), "Tea; Water");
    }
}
