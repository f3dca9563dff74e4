//! The instance's own follow-ups to domain events (the `Local` consumer):
//! work that must happen once at a given time whatever process is up, such
//! as writing a ballot's result into the audit log when it closes. Rows are
//! claimed with a lease, like the federation worker's, so several processes
//! share them and a crash only delays a job.

use std::time::Duration;

use tokio::sync::watch;

use super::events::{Consumer, DomainEvent};
use super::{Ctx, ServiceResult};
use crate::db::now;
use crate::db::queries::events as event_q;

const LEASE_SECS: i64 = 60;

pub async fn run(ctx: Ctx, mut stop: watch::Receiver<bool>) {
    loop {
        let busy = match process_batch(&ctx).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "jobs worker: batch failed");
                false
            }
        };
        if *stop.borrow() {
            break;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => break,
            }
        }
    }
}

/// Claims and runs one batch of due jobs; returns how many were taken.
pub async fn process_batch(ctx: &Ctx) -> ServiceResult<usize> {
    let rows = {
        let mut conn = ctx.db.write().await?;
        event_q::claim_events(
            &mut conn,
            Consumer::Local.as_str(),
            16,
            now() + chrono::Duration::seconds(LEASE_SECS),
        )
        .await?
    };
    let n = rows.len();
    for row in rows {
        let event = match DomainEvent::decode(&row.kind, row.subject_id, &row.detail) {
            Ok(e) => e,
            Err(e) => {
                // Nothing can run it: it is finished, not retried forever.
                tracing::error!(event = row.id, kind = %row.kind, error = %e, "job cannot be read; dropped");
                let mut conn = ctx.db.write().await?;
                event_q::finish_event(&mut conn, row.id).await?;
                continue;
            }
        };
        match run_one(ctx, &event).await {
            Ok(()) => {
                let mut conn = ctx.db.write().await?;
                event_q::finish_event(&mut conn, row.id).await?;
            }
            // The lease runs out and the job is taken again.
            Err(e) => tracing::error!(event = row.id, kind = %row.kind, error = %e, "job failed; will retry"),
        }
    }
    Ok(n)
}

async fn run_one(ctx: &Ctx, event: &DomainEvent) -> ServiceResult<()> {
    match event {
        DomainEvent::BallotClosed { id } => super::polls::record_ballot_result(ctx, *id).await,
        DomainEvent::NewsletterDue { id } => super::newsletter::queue_issue(ctx, *id).await,
        other => {
            tracing::warn!(kind = other.kind(), "no local job for this event");
            Ok(())
        }
    }
}
