//! SQLite's one writer, and group commit.
//!
//! SQLite lets one connection write at a time. This process's writers
//! queue for that turn here, asynchronously, instead of sleeping in
//! SQLite's busy handler. And those that queue together commit together:
//! a transaction that ends while others wait for the turn leaves the
//! SQLite transaction open for the next one (its own work kept in a
//! savepoint that it released), and the last of the line commits all of
//! them at once.
//!
//! Why: under a busy inbox every Note was two transactions of its own,
//! and each commit wrote the pages it touched (the posts table's last
//! leaf, its indexes, the inbox log's) to the WAL again, and made every
//! other connection drop its page cache. Committed together, those pages
//! are written once per group.
//!
//! What it keeps: a [`super::Tx::commit`] returns only once its work is
//! committed (so nothing is acknowledged, a 202 included, before it is: it
//! survives the process being killed; with `synchronous = NORMAL` a power
//! cut can still lose the last commits, as SQLite documents for WAL);
//! a transaction that rolls back, or is dropped, undoes its own savepoint
//! and nothing else. What it shares: a commit that fails (a full disk)
//! fails every member of the group, each told so.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::SimpleAsyncConnection;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::{detach, DbError, DbResult, PooledConn};

/// A group commits once it holds this many transactions, or once its
/// first one has waited this long: each member's answer waits for the
/// whole group.
const MAX_MEMBERS: usize = 64;
const MAX_AGE: Duration = Duration::from_millis(25);

/// Each member's work lives in this savepoint until the next one begins.
const SAVEPOINT: &str = "SAVEPOINT member";
const RELEASE: &str = "RELEASE member";
const UNDO: &str = "ROLLBACK TO member; RELEASE member";

type Outcome = Result<(), String>;

pub(super) struct Writer {
    turn: Arc<Semaphore>,
    /// Tasks waiting for the turn, the flusher not counted: a member
    /// leaves the group open only when somebody is there to carry it on.
    waiting: AtomicUsize,
    /// The group left open by the last member, for whoever takes the turn
    /// next. Only the holder of the turn parks or takes it.
    parked: Mutex<Option<Group>>,
    /// A flusher task is queued for the turn: it commits whatever group is
    /// parked when it gets there, so none is left open when the members
    /// that were waiting gave up (their requests dropped).
    flusher_queued: AtomicBool,
    /// Groups committed, for tests and the benchmark's reading.
    commits: AtomicU64,
}

/// An open SQLite transaction and the members whose work it holds.
pub(super) struct Group {
    /// Taken out when the group is handed on or ends. A group dropped with
    /// it (a call cancelled while on a blocking thread, on a
    /// single-threaded runtime) is closed, so its transaction never goes
    /// back to the pool open.
    conn: Option<PooledConn>,
    /// Each member that released its savepoint, waiting for the commit.
    members: Vec<oneshot::Sender<Outcome>>,
    /// The last member was dropped without ending: its savepoint is open.
    undo: bool,
    opened: Instant,
}

impl Group {
    fn new(conn: PooledConn, members: Vec<oneshot::Sender<Outcome>>, undo: bool, opened: Instant) -> Group {
        Group {
            conn: Some(conn),
            members,
            undo,
            opened,
        }
    }

    fn conn(&mut self) -> Result<&mut PooledConn, String> {
        self.conn
            .as_mut()
            .ok_or_else(|| "the group's connection was lost".to_string())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            detach(conn);
            tell(
                std::mem::take(&mut self.members),
                &Err("the transaction was interrupted".into()),
            );
        }
    }
}

/// A transaction's place in a group: the group's other members, and the turn.
pub(super) struct Membership {
    writer: Arc<Writer>,
    members: Vec<oneshot::Sender<Outcome>>,
    opened: Instant,
    _turn: OwnedSemaphorePermit,
}

/// Counts a task as waiting for as long as it waits, even if its wait is
/// dropped (a request that gave up).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn exec(g: &mut Group, sql: &str) -> Result<(), String> {
    let conn = g.conn()?;
    crate::q!(conn, |c| c.batch_execute(sql).await).map_err(|e| e.to_string())
}

fn tell(members: Vec<oneshot::Sender<Outcome>>, outcome: &Outcome) {
    for m in members {
        // A member that stopped waiting (its request dropped) needs no answer.
        let _ = m.send(outcome.clone());
    }
}

fn commit_failed(cause: &str) -> DbError {
    DbError::Commit(format!(
        "the transaction could not be committed: {cause}. Nothing of it was kept; retry."
    ))
}

impl Writer {
    pub(super) fn new() -> Arc<Writer> {
        Arc::new(Writer {
            turn: Arc::new(Semaphore::new(1)),
            waiting: AtomicUsize::new(0),
            parked: Mutex::new(None),
            flusher_queued: AtomicBool::new(false),
            commits: AtomicU64::new(0),
        })
    }

    /// Waits (asynchronously, up to `limit`) for this process's turn.
    pub(super) async fn turn(&self, limit: Duration) -> Result<OwnedSemaphorePermit, &'static str> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _counted = Waiting(&self.waiting);
        match tokio::time::timeout(limit, self.turn.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err("the writer queue is closed"),
            Err(_) => Err("database is locked (waited for the writer)"),
        }
    }

    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn take_parked(&self) -> Option<Group> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Joins the parked group, or opens one on `fresh()`'s connection,
    /// and starts this transaction's savepoint. The caller holds the turn.
    pub(super) async fn join(
        self: &Arc<Self>,
        turn: OwnedSemaphorePermit,
        fresh: impl std::future::Future<Output = DbResult<PooledConn>>,
    ) -> DbResult<(PooledConn, Membership)> {
        let parked = match self.take_parked() {
            Some(mut g) if g.undo => match exec(&mut g, UNDO).await {
                Ok(()) => {
                    g.undo = false;
                    Some(g)
                }
                Err(e) => {
                    self.fail(g, &e);
                    None
                }
            },
            other => other,
        };
        let mut g = match parked {
            Some(g) => g,
            None => {
                let mut g = Group::new(fresh.await?, Vec::new(), false, Instant::now());
                if let Err(e) = exec(&mut g, "BEGIN IMMEDIATE").await {
                    return Err(DbError::Commit(format!(
                        "could not begin a transaction: {e}. Retry in a moment."
                    )));
                }
                g
            }
        };
        if let Err(e) = exec(&mut g, SAVEPOINT).await {
            self.fail(g, &e);
            return Err(commit_failed(&e));
        }
        let Some(conn) = g.conn.take() else {
            return Err(commit_failed("the group's connection was lost"));
        };
        Ok((
            conn,
            Membership {
                writer: self.clone(),
                members: std::mem::take(&mut g.members),
                opened: g.opened,
                _turn: turn,
            },
        ))
    }

    /// For a lone write: commits the parked group first (its members are
    /// waiting for that), and gives back its connection when that worked.
    pub(super) async fn settle(&self) -> Option<PooledConn> {
        let group = self.take_parked()?;
        self.finish(group).await.ok()
    }

    /// Commits a group (or rolls back one whose members all rolled back),
    /// tells its members, and gives the connection back on success.
    async fn finish(&self, mut g: Group) -> Result<PooledConn, String> {
        if g.undo {
            if let Err(e) = exec(&mut g, UNDO).await {
                self.fail(g, &e);
                return Err(e);
            }
        }
        let sql = if g.members.is_empty() {
            "ROLLBACK"
        } else {
            "COMMIT"
        };
        match exec(&mut g, sql).await {
            Ok(()) => {
                if !g.members.is_empty() {
                    self.commits.fetch_add(1, Ordering::Relaxed);
                }
                tell(std::mem::take(&mut g.members), &Ok(()));
                g.conn
                    .take()
                    .ok_or_else(|| "the group's connection was lost".to_string())
            }
            Err(e) => {
                tracing::error!(error = %e, members = g.members.len(), "SQLite: a group of transactions could not be committed; each is answered with an error");
                self.fail(g, &e);
                Err(e)
            }
        }
    }

    /// Closes the group's connection (SQLite rolls back what it holds) and
    /// tells each member.
    fn fail(&self, mut g: Group, cause: &str) {
        if let Some(conn) = g.conn.take() {
            detach(conn);
        }
        tell(std::mem::take(&mut g.members), &Err(cause.to_string()));
    }

    /// Whether a group should stay open for the next in line.
    fn carry_on(&self, members: usize, opened: Instant) -> bool {
        self.waiting.load(Ordering::Acquire) > 0 && members < MAX_MEMBERS && opened.elapsed() < MAX_AGE
    }

    /// Leaves a group for the next holder of the turn; a flusher queued
    /// behind those waiting commits it if nobody else does. The caller
    /// still holds the turn and drops it after this.
    fn park(self: &Arc<Self>, g: Group) {
        let previous = self.parked.lock().unwrap_or_else(|p| p.into_inner()).replace(g);
        if let Some(old) = previous {
            // Only the holder of the turn parks, after taking what was
            // parked: two groups cannot be open on one writer.
            self.fail(old, "two groups were open at once");
        }
        if self.flusher_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let flush = async move {
            // Not queued any more once it has the turn, or if it is dropped
            // before (a runtime shutting down): the next park queues another.
            let queued = Queued(me.clone());
            let Ok(_turn) = me.turn.clone().acquire_owned().await else {
                return;
            };
            drop(queued);
            if let Some(g) = me.take_parked() {
                let _ = me.finish(g).await;
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(flush);
            }
            Err(_) => {
                // No runtime to commit it later (a transaction dropped
                // while shutting down): its members are told it failed.
                self.flusher_queued.store(false, Ordering::Release);
                if let Some(g) = self.take_parked() {
                    self.fail(g, "the server is shutting down");
                }
            }
        }
    }
}

/// Marks the flusher as no longer queued when it is dropped.
struct Queued(Arc<Writer>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.flusher_queued.store(false, Ordering::Release);
    }
}

impl Membership {
    /// Ends a transaction whose savepoint is still open: `commit` releases
    /// it and waits for the group's commit; otherwise it is rolled back
    /// and only the group's other members are committed.
    pub(super) async fn end(self, conn: PooledConn, commit: bool) -> DbResult<()> {
        let Membership {
            writer,
            members,
            opened,
            _turn,
        } = self;
        let mut group = Group::new(conn, members, false, opened);
        if let Err(e) = exec(&mut group, if commit { RELEASE } else { UNDO }).await {
            writer.fail(group, &e);
            return Err(commit_failed(&e));
        }
        let mine = commit.then(|| {
            let (tx, rx) = oneshot::channel();
            group.members.push(tx);
            rx
        });
        if writer.carry_on(group.members.len(), opened) {
            writer.park(group);
        } else {
            let _ = writer.finish(group).await;
        }
        drop(_turn);
        match mine {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(cause)) => Err(commit_failed(&cause)),
                Err(_) => Err(commit_failed("the group's connection was lost")),
            },
        }
    }

    /// A transaction dropped without ending: its savepoint is undone by
    /// whoever takes the group next (nothing can be awaited in `drop`).
    pub(super) fn abandon(self, conn: PooledConn) {
        let Membership {
            writer,
            members,
            opened,
            _turn,
        } = self;
        writer.park(Group::new(conn, members, true, opened));
        drop(_turn);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Db;
    use crate::q;
    use diesel::sql_types::BigInt;
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    use std::sync::atomic::Ordering;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    async fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("a folder");
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = Db::connect(&url, 8).await.expect("the database opens");
        let mut conn = db.conn().await.expect("a connection");
        q!(&mut conn, |c| c
            .batch_execute(
                "CREATE TABLE t (x INTEGER PRIMARY KEY); \
                 CREATE TABLE parent (id INTEGER PRIMARY KEY); \
                 CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
            )
            .await)
        .expect("the tables");
        (dir, db)
    }

    /// Rows of `t` with this value (all of them for `None`), read on
    /// another connection: what is committed.
    async fn committed(db: &Db, x: Option<i64>) -> i64 {
        let mut conn = db.conn().await.expect("a connection");
        let sql = match x {
            Some(x) => format!("SELECT count(*) AS n FROM t WHERE x = {x}"),
            None => "SELECT count(*) AS n FROM t".to_string(),
        };
        let rows: Vec<Count> =
            q!(&mut conn, |c| diesel::sql_query(sql.as_str()).load(c).await).expect("a count");
        rows[0].n
    }

    async fn insert(tx: &mut super::super::Tx, sql: &str) -> Result<(), super::DbError> {
        q!(&mut **tx, |c| c.batch_execute(sql).await).map_err(Into::into)
    }

    /// Waits until `n` tasks wait for the writer's turn, so that they take
    /// it in the order they were started.
    async fn until_waiting(db: &Db, n: usize) {
        while std::sync::atomic::AtomicUsize::load(&db.writer.waiting, Ordering::Acquire) < n {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transactions_waiting_together_commit_together_and_each_returns_once_committed() {
        let (_dir, db) = open().await;
        let hold = db.write().await.expect("the turn");
        let before = db.group_commits();
        let mut tasks = Vec::new();
        for i in 0..40i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin().await.expect("a transaction");
                insert(&mut tx, &format!("INSERT INTO t VALUES ({i})"))
                    .await
                    .expect("an insert");
                tx.commit().await.expect("committed");
                // Visible to every other connection as soon as commit returns.
                assert_eq!(
                    committed(&db, Some(i)).await,
                    1,
                    "row {i} is committed when commit returns"
                );
            }));
        }
        until_waiting(&db, 40).await;
        drop(hold);
        for t in tasks {
            t.await.expect("the task ends");
        }
        assert_eq!(committed(&db, None).await, 40);
        let groups = db.group_commits() - before;
        // One group, or a few when the 25 ms bound cuts it (a slow debug build).
        assert!(groups < 10, "40 waiting transactions took {groups} commits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_that_rolls_back_or_is_dropped_undoes_only_its_own_work() {
        let (_dir, db) = open().await;
        let hold = db.write().await.expect("the turn");
        let mut tasks = Vec::new();
        for (i, ending) in ["commit", "rollback", "drop", "commit", "duplicate"]
            .into_iter()
            .enumerate()
        {
            let db2 = db.clone();
            let x = i as i64 + 1;
            tasks.push(tokio::spawn(async move {
                let mut tx = db2.begin().await.expect("a transaction");
                insert(&mut tx, &format!("INSERT INTO t VALUES ({x})"))
                    .await
                    .expect("an insert");
                match ending {
                    "commit" => tx.commit().await.expect("committed"),
                    "rollback" => tx.rollback().await.expect("rolled back"),
                    "duplicate" => {
                        // A failed statement fails only itself: the
                        // transaction goes on and commits its first row.
                        assert!(insert(&mut tx, "INSERT INTO t VALUES (1)").await.is_err());
                        tx.commit().await.expect("committed");
                    }
                    _ => drop(tx),
                }
            }));
            until_waiting(&db, i + 1).await;
        }
        drop(hold);
        for t in tasks {
            t.await.expect("the task ends");
        }
        for (x, kept) in [(1, 1), (2, 0), (3, 0), (4, 1), (5, 1)] {
            assert_eq!(committed(&db, Some(x)).await, kept, "row {x}");
        }
        // The group left open by the dropped member was closed: a lone
        // write gets the turn and writes.
        let mut w = db.write().await.expect("the turn");
        q!(&mut *w, |c| c.batch_execute("INSERT INTO t VALUES (9)").await).expect("a lone write");
        drop(w);
        assert_eq!(committed(&db, Some(9)).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_whose_commit_fails_fails_every_member_and_keeps_none_of_it() {
        let (_dir, db) = open().await;
        let hold = db.write().await.expect("the turn");
        let mut tasks = Vec::new();
        // The second breaks a constraint that is checked only at COMMIT.
        for (i, sql) in [
            "INSERT INTO t VALUES (1)",
            "INSERT INTO child VALUES (99)",
            "INSERT INTO t VALUES (3)",
        ]
        .into_iter()
        .enumerate()
        {
            let db2 = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db2.begin().await.expect("a transaction");
                insert(&mut tx, sql).await.expect("an insert");
                tx.commit().await
            }));
            until_waiting(&db, i + 1).await;
        }
        drop(hold);
        for t in tasks {
            let outcome = t.await.expect("the task ends");
            let e = outcome.expect_err("the group's commit failed");
            assert!(e.to_string().contains("could not be committed"), "{e}");
        }
        assert_eq!(committed(&db, None).await, 0, "nothing of a failed group is kept");
        // The next transaction starts afresh.
        let mut tx = db.begin().await.expect("a transaction");
        insert(&mut tx, "INSERT INTO t VALUES (7)")
            .await
            .expect("an insert");
        tx.commit().await.expect("committed");
        assert_eq!(committed(&db, Some(7)).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bulk_change_is_written_in_chunks_until_none_is_left() {
        let (_dir, db) = open().await;
        let mut w = db.write().await.expect("the turn");
        q!(&mut *w, |c| c
            .batch_execute(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1234) \
                 INSERT INTO t SELECT x FROM n"
            )
            .await)
        .expect("1,234 rows");
        drop(w);
        let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = steps.clone();
        let total = db
            .write_in_chunks(move |c, n| {
                let sql = format!("DELETE FROM t WHERE x IN (SELECT x FROM t LIMIT {n})");
                let seen = seen.clone();
                Box::pin(async move {
                    let done = q!(c, |c| diesel::sql_query(sql.as_str()).execute(c).await)?;
                    seen.lock().expect("the list").push(done);
                    Ok(done)
                })
            })
            .await
            .expect("deleted");
        assert_eq!(total, 1234);
        assert_eq!(
            *steps.lock().expect("the list"),
            vec![500, 500, 234],
            "one write per chunk, until a short one"
        );
        assert_eq!(committed(&db, None).await, 0);
    }
}
