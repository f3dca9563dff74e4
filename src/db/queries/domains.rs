//! Domain rules (blocks, the allow-list) and the remote actors they touch.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::DomainBlock;
use crate::db::schema::{actors, domain_blocks};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn list_domain_rules(conn: &mut PooledConn) -> DbResult<Vec<DomainBlock>> {
    Ok(q!(conn, |c| domain_blocks::table
        .order(domain_blocks::domain.asc())
        .select(DomainBlock::as_select())
        .load(c)
        .await)?)
}

pub async fn add_domain_rule(conn: &mut PooledConn, domain: &str, mode: &str, reason: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(domain_blocks::table)
        .values((
            domain_blocks::domain.eq(domain),
            domain_blocks::mode.eq(mode),
            domain_blocks::reason.eq(reason),
            domain_blocks::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn remove_domain_rule(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(domain_blocks::table.find(id))
        .execute(c)
        .await)?)
}

/// Remote actors of a domain (and its subdomains).
pub async fn actors_of_domain(conn: &mut PooledConn, domain: &str) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(false))
        .filter(
            actors::domain
                .eq(domain)
                .or(actors::domain.like(format!("{domain}:%")))
                .or(actors::domain.like(format!("%.{domain}")))
                .or(actors::domain.like(format!("%.{domain}:%"))),
        )
        .select(actors::id)
        .load(c)
        .await)?)
}
