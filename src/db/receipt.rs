//! The inbox's log row for an activity being handled, written by the first
//! write its handling makes, in that write's own transaction.
//!
//! Why: the row de-duplicates (of two copies arriving together, one inserts
//! it and is applied, the other finds it and is ignored), so it must be in
//! before the activity's effects are. Written in a transaction of its own
//! first, every stored Note cost two transactions, each a pool checkout, a
//! turn for SQLite's writer, a savepoint and a wait for the group's commit
//! (on PostgreSQL, three more round trips). Carried by the handler's first
//! write instead, it is still in before the effects, and in the same commit.
//!
//! A [`super::Db`] made by [`super::Db::receiving`] carries the receipt:
//! its first [`super::Db::begin`] or [`super::Db::write`] inserts the row
//! first. When the row is there already, that write fails with
//! [`super::DbError::AlreadyReceived`] and nothing of it is kept, and so
//! does every later write through the same handle. A transaction that
//! carried it and then rolled back (or failed to commit) takes the row with
//! it, and the next write carries it again. A handler that wrote nothing
//! leaves it [`ReceiptState::Pending`], for the inbox to write on its own.

use std::sync::Mutex;

use super::queries::inbox_log;
use super::{DbError, DbResult, PooledConn};

/// What the inbox log keeps of a received activity.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub activity_id: String,
    pub kind: String,
    pub actor: String,
    pub object: Option<String>,
    /// The body as received, or empty (not kept).
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptState {
    /// Not written yet.
    Pending,
    /// In an open transaction, not committed yet.
    Writing,
    /// Committed: this handling owns the row.
    Logged,
    /// Another copy had logged it first.
    Duplicate,
}

impl Receipt {
    /// Inserts the log row: false if the activity was logged before.
    pub async fn insert_on(&self, conn: &mut PooledConn) -> DbResult<bool> {
        inbox_log::record_inbox(
            conn,
            &self.activity_id,
            &self.kind,
            &self.actor,
            self.object.as_deref(),
            &self.raw,
        )
        .await
    }
}

/// A [`Receipt`] and how far it got, shared by the handle that carries it
/// and the inbox that made it.
#[derive(Debug)]
pub struct Carried {
    receipt: Receipt,
    state: Mutex<ReceiptState>,
}

impl Carried {
    pub fn new(receipt: Receipt) -> Carried {
        Carried {
            receipt,
            state: Mutex::new(ReceiptState::Pending),
        }
    }

    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    pub fn state(&self) -> ReceiptState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set(&self, to: ReceiptState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Inserts the row on `conn` when it is still to be written; whether it
    /// was (then the caller's transaction carries it). A duplicate is an
    /// error, for this write and every later one.
    pub(super) async fn write_on(&self, conn: &mut PooledConn) -> DbResult<bool> {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match *state {
                ReceiptState::Pending => *state = ReceiptState::Writing,
                ReceiptState::Duplicate => return Err(DbError::AlreadyReceived),
                // Written, or being written by a transaction still open.
                ReceiptState::Writing | ReceiptState::Logged => return Ok(false),
            }
        }
        // Cancelled during the insert, it is to be written again.
        let mut unwritten = Unwritten(Some(self));
        match self.receipt.insert_on(conn).await {
            Ok(true) => {
                unwritten.0 = None;
                Ok(true)
            }
            Ok(false) => {
                unwritten.0 = None;
                self.set(ReceiptState::Duplicate);
                Err(DbError::AlreadyReceived)
            }
            Err(e) => Err(e),
        }
    }
}

/// Puts a receipt back to be written unless disarmed.
struct Unwritten<'a>(Option<&'a Carried>);

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if let Some(carried) = self.0 {
            carried.set(ReceiptState::Pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::q;
    use diesel::sql_types::BigInt;
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    use std::sync::Arc;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    async fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("a folder");
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let db = Db::connect(&url, 8).await.expect("the database opens");
        db.migrate().await.expect("the schema");
        let mut conn = db.conn().await.expect("a connection");
        q!(&mut conn, |c| c
            .batch_execute("CREATE TABLE effect (x INTEGER)")
            .await)
        .expect("a table");
        (dir, db)
    }

    async fn count(db: &Db, sql: &str) -> i64 {
        let mut conn = db.conn().await.expect("a connection");
        let rows: Vec<Count> = q!(&mut conn, |c| diesel::sql_query(sql).load(c).await).expect("a count");
        rows[0].n
    }

    async fn logged(db: &Db) -> i64 {
        count(
            db,
            "SELECT count(*) AS n FROM inbox_log WHERE activity_id = 'https://a.example/1'",
        )
        .await
    }

    fn carried() -> Arc<Carried> {
        Arc::new(Carried::new(Receipt {
            activity_id: "https://a.example/1".into(),
            kind: "Create".into(),
            actor: "https://a.example/actor".into(),
            object: None,
            raw: "{}".into(),
        }))
    }

    /// A transaction through `db` that writes one effect row.
    async fn apply(db: &Db, x: i64, commit: bool) -> DbResult<()> {
        let mut tx = db.begin().await?;
        q!(&mut *tx, |c| c
            .batch_execute(&format!("INSERT INTO effect VALUES ({x})"))
            .await)?;
        if commit {
            tx.commit().await
        } else {
            tx.rollback().await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_write_logs_the_receipt_and_a_copy_keeps_nothing() {
        let (_dir, db) = open().await;
        let first = carried();
        let handling = db.receiving(first.clone());
        // A transaction that rolls back takes the row with it...
        apply(&handling, 1, false).await.expect("rolled back");
        assert_eq!(first.state(), ReceiptState::Pending);
        assert_eq!(logged(&db).await, 0, "not logged by a rolled-back write");
        // ...and the next one carries it, in the same commit as its work.
        apply(&handling, 2, true).await.expect("committed");
        assert_eq!(first.state(), ReceiptState::Logged);
        assert_eq!(logged(&db).await, 1);
        // A later write of the same handling does not log it again.
        apply(&handling, 3, true).await.expect("committed");
        assert_eq!(logged(&db).await, 1);

        // Another copy of the activity: its first write fails, keeps
        // nothing, and so does every write after it.
        let copy = carried();
        let again = db.receiving(copy.clone());
        assert!(matches!(
            apply(&again, 4, true).await,
            Err(DbError::AlreadyReceived)
        ));
        assert_eq!(copy.state(), ReceiptState::Duplicate);
        assert!(matches!(again.write().await, Err(DbError::AlreadyReceived)));
        assert_eq!(
            count(&db, "SELECT count(*) AS n FROM effect").await,
            2,
            "the copy's work was not kept"
        );
        assert_eq!(logged(&db).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_write_logs_the_receipt_before_it() {
        let (_dir, db) = open().await;
        let first = carried();
        let mut w = db.receiving(first.clone()).write().await.expect("a write");
        assert_eq!(first.state(), ReceiptState::Logged);
        q!(&mut *w, |c| c
            .batch_execute("INSERT INTO effect VALUES (1)")
            .await)
        .expect("written");
        drop(w);
        assert_eq!(logged(&db).await, 1);
        let copy = carried();
        assert!(matches!(
            db.receiving(copy).write().await,
            Err(DbError::AlreadyReceived)
        ));
    }

    /// Copies arriving together (one group commit on SQLite): one applies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_copies_arriving_together_one_is_applied() {
        let (_dir, db) = open().await;
        let copies: Vec<_> = (0..16)
            .map(|i| {
                let db = db.receiving(carried());
                tokio::spawn(async move { apply(&db, i, true).await })
            })
            .collect();
        let mut applied = 0;
        for c in copies {
            match c.await.expect("the task ran") {
                Ok(()) => applied += 1,
                Err(DbError::AlreadyReceived) => {}
                Err(e) => panic!("a copy failed otherwise: {e}"),
            }
        }
        assert_eq!(applied, 1);
        assert_eq!(count(&db, "SELECT count(*) AS n FROM effect").await, 1);
        assert_eq!(logged(&db).await, 1);
    }
}
