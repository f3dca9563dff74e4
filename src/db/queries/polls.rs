//! Polls' options and votes.

use diesel::prelude::*;
use diesel::AggregateExpressionMethods;
use diesel_async::RunQueryDsl;

use crate::db::models::{PollOption, PollRow};
use crate::db::schema::{actors, ballot_choices, ballot_voters, poll_options, polls, votes};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &PollRow, options: &[String]) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(polls::table)
        .values(row)
        .execute(c)
        .await)?;
    for (position, name) in options.iter().enumerate() {
        let position = position as i64;
        q!(conn, |c| diesel::insert_into(poll_options::table)
            .values((
                poll_options::object_id.eq(row.object_id),
                poll_options::position.eq(position),
                poll_options::name.eq(name),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// Takes the row of a poll (PostgreSQL: `FOR UPDATE`) so that one voter's
/// two votes at once cannot both pass the one-choice check.
pub async fn lock(conn: &mut PooledConn, object_id: i64) -> DbResult<()> {
    if let PooledConn::Postgres(c) = conn {
        diesel::sql_query("SELECT object_id FROM polls WHERE object_id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(object_id)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}

/// Open polls (closing later than `after`), newest first.
pub async fn open_ids(conn: &mut PooledConn, after: chrono::NaiveDateTime, limit: i64) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| polls::table
        .filter(polls::closes_at.gt(after))
        .order(polls::object_id.desc())
        .limit(limit)
        .select(polls::object_id)
        .load(c)
        .await)?)
}

pub async fn find(conn: &mut PooledConn, object_id: i64) -> DbResult<Option<PollRow>> {
    Ok(q!(conn, |c| polls::table
        .find(object_id)
        .select(PollRow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The options in their order, each with its vote count (a secret
/// ballot's come from its unsigned choices).
pub async fn options(
    conn: &mut PooledConn,
    object_id: i64,
    secret: bool,
) -> DbResult<Vec<(PollOption, i64)>> {
    let options: Vec<PollOption> = q!(conn, |c| poll_options::table
        .filter(poll_options::object_id.eq(object_id))
        .order(poll_options::position.asc())
        .select(PollOption::as_select())
        .load(c)
        .await)?;
    let counts: Vec<(i64, i64)> = if secret {
        q!(conn, |c| ballot_choices::table
            .filter(ballot_choices::object_id.eq(object_id))
            .group_by(ballot_choices::option_id)
            .select((ballot_choices::option_id, diesel::dsl::count_star()))
            .load(c)
            .await)?
    } else {
        q!(conn, |c| votes::table
            .filter(votes::object_id.eq(object_id))
            .group_by(votes::option_id)
            .select((votes::option_id, diesel::dsl::count_star()))
            .load(c)
            .await)?
    };
    Ok(options
        .into_iter()
        .map(|o| {
            let n = counts.iter().find(|(id, _)| *id == o.id).map_or(0, |(_, n)| *n);
            (o, n)
        })
        .collect())
}

/// How many actors voted (an actor choosing two options counts once).
pub async fn voters(conn: &mut PooledConn, object_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| votes::table
        .filter(votes::object_id.eq(object_id))
        .select(diesel::dsl::count(votes::actor_id).aggregate_distinct())
        .get_result(c)
        .await)?)
}

/// The option ids an actor chose.
pub async fn choices_of(conn: &mut PooledConn, object_id: i64, actor_id: i64) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| votes::table
        .filter(votes::object_id.eq(object_id))
        .filter(votes::actor_id.eq(actor_id))
        .select(votes::option_id)
        .load(c)
        .await)?)
}

/// Records one vote; false if the actor already chose this option.
pub async fn vote(
    conn: &mut PooledConn,
    object_id: i64,
    option_id: i64,
    actor_id: i64,
    ap_id: Option<&str>,
) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::insert_into(votes::table)
        .values((
            votes::object_id.eq(object_id),
            votes::option_id.eq(option_id),
            votes::actor_id.eq(actor_id),
            votes::ap_id.eq(ap_id),
            votes::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

/// Whether a Note id is a vote (so it is not shown as a reply).
pub async fn is_vote(conn: &mut PooledConn, ap_id: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| votes::table
        .filter(votes::ap_id.eq(ap_id))
        .count()
        .get_result(c)
        .await)?;
    let ballot: i64 = q!(conn, |c| ballot_voters::table
        .filter(ballot_voters::ap_id.eq(ap_id))
        .count()
        .get_result(c)
        .await)?;
    Ok(n + ballot > 0)
}

/// Records that a member voted in a ballot; false if they already had.
pub async fn record_voter(
    conn: &mut PooledConn,
    object_id: i64,
    member_id: i64,
    ap_id: Option<&str>,
) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::insert_into(ballot_voters::table)
        .values((
            ballot_voters::object_id.eq(object_id),
            ballot_voters::member_id.eq(member_id),
            ballot_voters::ap_id.eq(ap_id),
            ballot_voters::voted_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

/// Whether this vote Note was already counted (a delivery retried).
pub async fn ballot_note_counted(conn: &mut PooledConn, object_id: i64, ap_id: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| ballot_voters::table
        .filter(ballot_voters::object_id.eq(object_id))
        .filter(ballot_voters::ap_id.eq(ap_id))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

pub async fn has_voted(conn: &mut PooledConn, object_id: i64, member_id: i64) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| ballot_voters::table
        .filter(ballot_voters::object_id.eq(object_id))
        .filter(ballot_voters::member_id.eq(member_id))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Members who voted in a ballot.
pub async fn ballot_turnout(conn: &mut PooledConn, object_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| ballot_voters::table
        .filter(ballot_voters::object_id.eq(object_id))
        .count()
        .get_result(c)
        .await)?)
}

/// A secret ballot's choice, under the hash of its receipt only.
pub async fn secret_choice(
    conn: &mut PooledConn,
    object_id: i64,
    option_id: i64,
    receipt_hash: &str,
) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(ballot_choices::table)
        .values((
            ballot_choices::receipt_hash.eq(receipt_hash),
            ballot_choices::object_id.eq(object_id),
            ballot_choices::option_id.eq(option_id),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// The option a receipt's choice counted for.
pub async fn receipt_option(
    conn: &mut PooledConn,
    object_id: i64,
    receipt_hash: &str,
) -> DbResult<Option<i64>> {
    Ok(q!(conn, |c| ballot_choices::table
        .filter(ballot_choices::object_id.eq(object_id))
        .filter(ballot_choices::receipt_hash.eq(receipt_hash))
        .select(ballot_choices::option_id)
        .first(c)
        .await
        .optional())?)
}

/// An open ballot's votes: voter name, voter address, option id.
pub async fn open_votes(conn: &mut PooledConn, object_id: i64) -> DbResult<Vec<(String, String, i64)>> {
    Ok(q!(conn, |c| votes::table
        .inner_join(actors::table.on(actors::id.eq(votes::actor_id)))
        .filter(votes::object_id.eq(object_id))
        .order(actors::name.asc())
        .select((actors::name, actors::ap_id, votes::option_id))
        .load(c)
        .await)?)
}

/// Keeps the number of eligible members when a ballot closes; false when
/// it was already kept (the result is written once).
pub async fn set_eligible(conn: &mut PooledConn, object_id: i64, eligible: i64) -> DbResult<bool> {
    let n = q!(conn, |c| diesel::update(polls::table.find(object_id))
        .filter(polls::eligible.is_null())
        .set(polls::eligible.eq(Some(eligible)))
        .execute(c)
        .await)?;
    Ok(n == 1)
}

/// The inboxes of remote voters (shared where they have one), each once:
/// they hear of new counts and of the close.
pub async fn voter_inboxes(conn: &mut PooledConn, object_id: i64) -> DbResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = q!(conn, |c| votes::table
        .inner_join(actors::table.on(actors::id.eq(votes::actor_id)))
        .filter(votes::object_id.eq(object_id))
        .filter(actors::local.eq(false))
        .select((actors::inbox, actors::shared_inbox))
        .distinct()
        .load(c)
        .await)?;
    let mut out: Vec<String> = rows.into_iter().map(|(i, s)| s.unwrap_or(i)).collect();
    out.sort();
    out.dedup();
    Ok(out)
}
