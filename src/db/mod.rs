//! The database layer: one pool over SQLite or PostgreSQL and the queries of
//! every area. A query is written once with diesel's DSL and run on either
//! backend through the [`q!`] macro; `MultiConnection` does not work with
//! diesel-async, so the enum below is the seam.

pub mod models;
pub mod queries;
mod receipt;
pub mod schema;
mod writer;

pub use receipt::{Carried, Receipt, ReceiptState};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::Object;
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, OnThisThread>;

/// How SQLite's calls run: on the task's own thread, not on one of
/// tokio's blocking threads as diesel-async does by default.
///
/// A call to SQLite on a local file takes microseconds (a page of a list,
/// the inbox's look-ups and inserts), while handing it to a blocking thread
/// and waking the task again cost more than the call itself: an inbox Note
/// made about ten such round trips, and on a Raspberry Pi's few cores the
/// blocking threads competed for the same CPUs anyway. What this gives up:
/// a worker thread is busy for the length of a call, so a call must not
/// wait: this process's writes queue for the writer's turn ([`Db::begin`],
/// [`Db::write`]) before they reach SQLite's lock, where the busy handler
/// would sleep on this thread. (Several processes on one SQLite file are
/// not a supported setup; several processes share PostgreSQL.)
///
/// On a single-threaded runtime (tests, one-off commands) calls still go
/// to a blocking thread: there a lone write waiting in SQLite's busy
/// handler would hold up the very task whose transaction it waits for.
pub struct OnThisThread;

impl diesel_async::sync_connection_wrapper::SpawnBlocking for OnThisThread {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> futures::future::BoxFuture<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        let shared_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if shared_runtime {
            // A panic in a call (a bug) fails that call, as it did on a
            // blocking thread, instead of unwinding through a worker loop.
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task))
                .map_err(|_| "a SQLite call panicked".into());
            return Box::pin(std::future::ready(done));
        }
        Box::pin(async move {
            tokio::task::spawn_blocking(task)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync + 'static>)
        })
    }

    fn get_runtime() -> Self {
        OnThisThread
    }
}
pub type PgConn = AsyncPgConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long SQLite waits for another writer before giving up. Long enough for a
/// burst of inbox writes, short enough that a stuck lock is reported.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How much of the SQLite file is read through a memory map (the rest
/// with `pread`): 256 MB covers a co-op's database for years. Only the
/// pages read are resident, and they are the kernel's page cache, shared.
/// On 32-bit systems (older Raspberry Pi OS) each connection's map would
/// take that much of a small address space: reads stay with `pread` there.
#[cfg(target_pointer_width = "64")]
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;
#[cfg(not(target_pointer_width = "64"))]
const SQLITE_MMAP_BYTES: u64 = 0;

/// Rows changed per write of a bulk change ([`Db::write_in_chunks`]): a
/// few milliseconds of SQLite's time.
pub const CHUNK_ROWS: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    /// SQLite: the group commit this transaction was part of failed.
    #[error("{0}")]
    Commit(String),
    /// A write carrying an activity's receipt found it logged already:
    /// another copy of the activity was applied (see [`Carried`]).
    #[error("this activity was received and applied before")]
    AlreadyReceived,
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Pools {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<PgConn>),
}

/// The shared handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
    /// SQLite has one writer: this process's transactions queue here for
    /// it (woken in turn) instead of polling the file lock in SQLite's busy
    /// handler, which under load slept and retried most of their time; and
    /// those that queue together commit together (see [`writer`]).
    writer: Arc<writer::Writer>,
    /// The URL with any password removed, for messages.
    display_url: Arc<str>,
    /// An inbox activity's log row, for the first write made through this
    /// handle ([`Db::receiving`]).
    receipt: Option<Arc<Carried>>,
}

/// One pooled connection of either backend. Queries take `&mut PooledConn`.
// One lives briefly per request; boxing the larger variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum PooledConn {
    Sqlite(Object<AsyncDieselConnectionManager<SqliteConn>>),
    Postgres(Object<AsyncDieselConnectionManager<PgConn>>),
}

/// Runs one diesel expression on whichever backend `$conn` holds. The body is
/// expanded once per backend, so it must be backend-neutral diesel DSL.
#[macro_export]
macro_rules! q {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::PooledConn::Sqlite(__obj) => {
                let $c: &mut $crate::db::SqliteConn = &mut *__obj;
                $body
            }
            $crate::db::PooledConn::Postgres(__obj) => {
                let $c: &mut $crate::db::PgConn = &mut *__obj;
                $body
            }
        }
    };
}

/// Makes every SQLite connection this process opens from now on plan its
/// statements without looking at bound values (`SQLITE_DBCONFIG_ENABLE_QPSG`).
///
/// SQLite reads the value bound to `LIMIT ?` while planning, and marks the
/// statement to be prepared again whenever that parameter is bound anew.
/// Diesel binds every limit (`.first()` included) and rebinds on each use
/// of a cached statement, so nearly every read was parsed and planned again
/// on every call: `bench --perf` put `sqlite3Reprepare` at 12% of the
/// inbox's CPU. Without `ANALYZE` statistics the plans do not depend on
/// the values anyway.
///
/// Before that (it must come before SQLite initialises), memory statistics
/// are turned off: with them, every allocation SQLite makes takes one
/// process-wide mutex, and copying a page's rows out of SQLite (one
/// allocation per value) made the news page spend a quarter of its CPU
/// waiting on it under 100 clients.
fn tune_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a configuration call made once, before any connection of
        // this process opens (SQLite refuses it with MISUSE otherwise).
        let rc = unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int)
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite was initialised already; its memory statistics stay on");
        }
        // SAFETY: `enable_qpsg` has the entry-point signature SQLite
        // expects and only calls `sqlite3_db_config` on the handle it gets.
        let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(enable_qpsg)) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(rc, "SQLite: could not register the query-planner setting; statements will be prepared more often");
        }
    });
}

unsafe extern "C" fn enable_qpsg(
    db: *mut libsqlite3_sys::sqlite3,
    _err: *mut *mut std::ffi::c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> std::ffi::c_int {
    // SAFETY: `db` is the connection SQLite is opening; the option takes an
    // int (1: on) and an optional int pointer for the new value (none).
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        );
    }
    libsqlite3_sys::SQLITE_OK
}

/// Whether SQLite, once a SQLite `Db` was connected in this process, counts
/// no memory (a connection open and nothing counted) and plans a connection
/// opened now without bound values: opens one in memory and asks.
pub fn sqlite_tuned() -> bool {
    let mut db: *mut libsqlite3_sys::sqlite3 = std::ptr::null_mut();
    let mut on: std::ffi::c_int = 0;
    // SAFETY: the handle is opened, read and closed here; -1 leaves the
    // option as it is and writes its value to `on`.
    unsafe {
        if libsqlite3_sys::sqlite3_open(c":memory:".as_ptr(), &mut db) != libsqlite3_sys::SQLITE_OK {
            libsqlite3_sys::sqlite3_close(db);
            return false;
        }
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as std::ffi::c_int,
            &mut on as *mut std::ffi::c_int,
        );
        let counted = libsqlite3_sys::sqlite3_memory_used();
        libsqlite3_sys::sqlite3_close(db);
        on == 1 && counted == 0
    }
}

/// Hides the password of a database URL for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Opens the pool, creating the SQLite file (and its folder) if needed.
    /// Fails with a message that names the database and says what to check.
    pub async fn connect(url: &str, max_connections: usize) -> DbResult<Db> {
        let display_url = redact_url(url);
        let pools = if let Some(path) = url.strip_prefix("sqlite://") {
            tune_sqlite();
            let path = path.to_string();
            if let Some(parent) = Path::new(&path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        DbError::Connect(format!(
                            "cannot create the folder {} for the SQLite database: {e}. \
                             Check the permissions or set database_url to a writable path.",
                            parent.display()
                        ))
                    })?;
                }
            }
            let mut config = ManagerConfig::<SqliteConn>::default();
            // A connection to a local file does not go stale: checking one
            // with `SELECT 1` each time it leaves the pool (the default)
            // cost a blocking-thread round trip per checkout, a third of an
            // inbox Note's. An open transaction is still detected.
            config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
            config.custom_setup = Box::new(|url| {
                let url = url.to_string();
                Box::pin(async move {
                    let mut conn = SqliteConn::establish(&url).await?;
                    // WAL lets readers run beside the one writer; the busy timeout
                    // makes a second writer wait instead of failing at once.
                    // Memory-mapped reads: in WAL mode a connection drops its
                    // whole page cache whenever another one has written, so
                    // with a pool and a busy inbox nearly every read began by
                    // copying pages in again with one `pread` each (a good
                    // share of an inbox Note's CPU under `bench --perf`).
                    conn.batch_execute(&format!(
                        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                         PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA mmap_size = {SQLITE_MMAP_BYTES};"
                    ))
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                    Ok(conn)
                })
            });
            let manager = AsyncDieselConnectionManager::new_with_config(path, config);
            let pool = Pool::builder(manager)
                .max_size(max_connections)
                .wait_timeout(Some(Duration::from_secs(30)))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .map_err(|e| DbError::Connect(format!("cannot build the SQLite pool: {e}")))?;
            Pools::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let manager = AsyncDieselConnectionManager::<PgConn>::new(url);
            let pool = Pool::builder(manager)
                .max_size(max_connections)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .map_err(|e| DbError::Connect(format!("cannot build the PostgreSQL pool: {e}")))?;
            Pools::Postgres(pool)
        } else {
            return Err(DbError::Connect(format!(
                "database_url {display_url} is not supported: use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
            )));
        };
        let db = Db {
            pools,
            display_url: display_url.into(),
            writer: writer::Writer::new(),
            receipt: None,
        };
        // Open one connection now so that a wrong URL fails at start, not at the first request.
        let mut conn = db.conn().await?;
        q!(&mut conn, |c| c.batch_execute("SELECT 1").await).map_err(|e| db.connect_error(e.to_string()))?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// The same database, whose first write (a [`Db::begin`] or a
    /// [`Db::write`]) logs `carried`'s receipt first, in its own
    /// transaction; see [`Carried`].
    pub fn receiving(&self, carried: Arc<Carried>) -> Db {
        Db {
            receipt: Some(carried),
            ..self.clone()
        }
    }

    fn connect_error(&self, cause: String) -> DbError {
        let hint = match self.backend() {
            Backend::Sqlite if cause.contains("locked") => {
                "Another program holds a lock on the SQLite file: stop it (or the other intercoop process) and try again."
            }
            Backend::Sqlite => "Check that the file's folder exists and is writable.",
            Backend::Postgres => {
                "Check that PostgreSQL is running and that the host, port, user, password and database in database_url are right."
            }
        };
        DbError::Connect(format!(
            "cannot open the database {}: {cause}. {hint}",
            self.display_url
        ))
    }

    fn pool_error(&self, e: PoolError) -> DbError {
        self.connect_error(e.to_string())
    }

    /// A connection from the pool, for reads and single-statement writes.
    pub async fn conn(&self) -> DbResult<PooledConn> {
        match &self.pools {
            Pools::Sqlite(p) => p
                .get()
                .await
                .map(PooledConn::Sqlite)
                .map_err(|e| self.pool_error(e)),
            Pools::Postgres(p) => p
                .get()
                .await
                .map(PooledConn::Postgres)
                .map_err(|e| self.pool_error(e)),
        }
    }

    /// Starts a transaction. SQLite takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers queue on the busy timeout instead of one
    /// failing when it upgrades a read lock. Dropping the [`Tx`] without
    /// [`Tx::commit`] rolls back.
    ///
    /// On SQLite the transaction may join the group its predecessor left
    /// open (see [`writer`]): its work is then a savepoint within it.
    pub async fn begin(&self) -> DbResult<Tx> {
        let mut tx = match self.pools {
            Pools::Sqlite(_) => {
                let turn = self.writer_turn().await?;
                let (conn, member) = self.writer.join(turn, self.conn()).await?;
                Tx {
                    conn: Some(conn),
                    member: Some(member),
                    receipt: None,
                }
            }
            Pools::Postgres(_) => {
                let mut conn = self.conn().await?;
                q!(&mut conn, |c| c.batch_execute("BEGIN").await)?;
                Tx {
                    conn: Some(conn),
                    member: None,
                    receipt: None,
                }
            }
        };
        if let Some(carried) = &self.receipt {
            match carried.write_on(&mut tx).await {
                Ok(true) => tx.receipt = Some(carried.clone()),
                Ok(false) => {}
                Err(DbError::AlreadyReceived) => {
                    // The row found may be another member's of this very
                    // group, not committed yet: the copy is answered as a
                    // duplicate only once it is (its own savepoint is
                    // empty), so that a failed commit does not leave both
                    // senders thinking the activity was taken.
                    tx.commit().await?;
                    return Err(DbError::AlreadyReceived);
                }
                Err(e) => {
                    tx.rollback().await?;
                    return Err(e);
                }
            }
        }
        Ok(tx)
    }

    /// SQLite: waits (asynchronously) for this process's turn to write.
    async fn writer_turn(&self) -> DbResult<tokio::sync::OwnedSemaphorePermit> {
        self.writer
            .turn(Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS)))
            .await
            .map_err(|why| self.connect_error(why.into()))
    }

    /// A connection for one statement that writes, outside a transaction.
    /// On SQLite it holds the writer's turn like a [`Tx`]: a lone write taken
    /// from [`Db::conn`] would meet a transaction's lock and wait in SQLite's
    /// busy handler, asleep on the task's worker thread (see
    /// [`OnThisThread`]), instead of in the queue. A group of transactions
    /// left open is committed first, so the write is its own.
    pub async fn write(&self) -> DbResult<Write> {
        let mut w = match self.pools {
            Pools::Sqlite(_) => {
                let turn = self.writer_turn().await?;
                let conn = match self.writer.settle().await {
                    Some(conn) => conn,
                    None => self.conn().await?,
                };
                Write {
                    conn,
                    _turn: Some(turn),
                }
            }
            Pools::Postgres(_) => Write {
                conn: self.conn().await?,
                _turn: None,
            },
        };
        // A lone write has no transaction to share: the receipt is
        // committed on its own just before, as it was for every activity.
        if let Some(carried) = &self.receipt {
            if carried.write_on(&mut w.conn).await? {
                carried.set(ReceiptState::Logged);
            }
        }
        Ok(w)
    }

    /// A bulk change (retention, pruning) as writes of at most
    /// [`CHUNK_ROWS`] rows each, the writer's turn given up between them: a
    /// backlog (the first run after retention is shortened, a busy
    /// federation instance's day of inbox log) must not hold the writer,
    /// and on SQLite the worker thread it runs on, for longer than one
    /// chunk. `step` changes at most the rows it is given and says how
    /// many; the total is returned.
    pub async fn write_in_chunks(
        &self,
        mut step: impl for<'c> FnMut(&'c mut PooledConn, i64) -> futures::future::BoxFuture<'c, DbResult<usize>>,
    ) -> DbResult<usize> {
        let mut total = 0;
        loop {
            let mut w = self.write().await?;
            let n = step(&mut w, CHUNK_ROWS).await?;
            drop(w);
            total += n;
            if i64::try_from(n).unwrap_or(i64::MAX) < CHUNK_ROWS {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// SQLite: how many groups of transactions were committed so far.
    pub fn group_commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Applies pending migrations; returns how many ran.
    pub async fn migrate(&self) -> DbResult<usize> {
        let mut conn = self.conn().await?;
        // Processes started together on one PostgreSQL take turns: the
        // first applies what is pending, the others then find nothing to
        // do. The lock is the session's, released when the harness closes
        // the connection it takes.
        if let PooledConn::Postgres(obj) = &mut conn {
            let c: &mut PgConn = &mut *obj;
            c.batch_execute("SELECT pg_advisory_lock(7243019)").await?;
        }
        // The harness drives the async connection from a blocking context.
        let result = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            match conn {
                PooledConn::Sqlite(obj) => AsyncMigrationHarness::new(Object::take(obj))
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|done| done.len())
                    .map_err(|e| e.to_string()),
                PooledConn::Postgres(obj) => AsyncMigrationHarness::new(Object::take(obj))
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|done| done.len())
                    .map_err(|e| e.to_string()),
            }
        })
        .await
        .map_err(|e| DbError::Migration(e.to_string()))?;
        result.map_err(DbError::Migration)
    }

    /// Reverts the last `steps` applied migrations (`intercoop migrate
    /// --revert N`: back to an older version's schema without restoring a
    /// backup); returns how many were reverted (fewer when fewer were applied).
    pub async fn revert(&self, steps: usize) -> DbResult<usize> {
        let conn = self.conn().await?;
        fn back<C: MigrationHarness<B>, B: diesel::backend::Backend>(
            mut h: C,
            source: fn() -> EmbeddedMigrations,
            steps: usize,
        ) -> Result<usize, String>
        where
            EmbeddedMigrations: diesel::migration::MigrationSource<B>,
        {
            let mut done = 0;
            while done < steps && !h.applied_migrations().map_err(|e| e.to_string())?.is_empty() {
                h.revert_last_migration(source()).map_err(|e| e.to_string())?;
                done += 1;
            }
            Ok(done)
        }
        let result = tokio::task::spawn_blocking(move || match conn {
            PooledConn::Sqlite(obj) => back(
                AsyncMigrationHarness::new(Object::take(obj)),
                || SQLITE_MIGRATIONS,
                steps,
            ),
            PooledConn::Postgres(obj) => back(
                AsyncMigrationHarness::new(Object::take(obj)),
                || PG_MIGRATIONS,
                steps,
            ),
        })
        .await
        .map_err(|e| DbError::Migration(e.to_string()))?;
        result.map_err(DbError::Migration)
    }

    /// Succeeds when the database answers; used by /healthz.
    pub async fn ping(&self) -> DbResult<()> {
        let mut conn = self.conn().await?;
        q!(&mut conn, |c| c.batch_execute("SELECT 1").await)?;
        Ok(())
    }
}

/// An open transaction. Derefs to the connection so query functions take it
/// like any other.
pub struct Tx {
    conn: Option<PooledConn>,
    /// SQLite: its place in a group of transactions, and the writer's turn.
    member: Option<writer::Membership>,
    /// The receipt this transaction logged, told how it ended.
    receipt: Option<Arc<Carried>>,
}

impl Tx {
    /// Ends a transaction that wrote nothing worth keeping, and keeps the
    /// connection for reuse (a dropped `Tx` has to close it).
    pub async fn rollback(self) -> DbResult<()> {
        self.end(false).await
    }

    /// Commits; returns once the work is committed.
    pub async fn commit(self) -> DbResult<()> {
        self.end(true).await
    }

    async fn end(mut self, commit: bool) -> DbResult<()> {
        // Cancelled before it has ended, the Tx is dropped with its
        // receipt, which its drop puts back to be written.
        let ended = self.finish(commit).await;
        if let Some(carried) = self.receipt.take() {
            carried.set(if commit && ended.is_ok() {
                ReceiptState::Logged
            } else {
                ReceiptState::Pending
            });
        }
        ended
    }

    async fn finish(&mut self, commit: bool) -> DbResult<()> {
        let mut conn = self.conn.take().expect("a Tx holds its connection until commit");
        if let Some(member) = self.member.take() {
            return member.end(conn, commit).await;
        }
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match q!(&mut conn, |c| c.batch_execute(sql).await) {
            Ok(()) => Ok(()),
            Err(e) => {
                detach(conn);
                Err(e.into())
            }
        }
    }
}

/// A connection holding the writer's turn, for single-statement writes.
pub struct Write {
    conn: PooledConn,
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::ops::Deref for Write {
    type Target = PooledConn;
    fn deref(&self) -> &PooledConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut PooledConn {
        &mut self.conn
    }
}

/// Takes a connection out of the pool so it is closed, not reused: closing
/// rolls back whatever transaction it still had open.
fn detach(conn: PooledConn) {
    match conn {
        PooledConn::Sqlite(o) => drop(Object::take(o)),
        PooledConn::Postgres(o) => drop(Object::take(o)),
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(carried) = self.receipt.take() {
            carried.set(ReceiptState::Pending);
        }
        if let Some(conn) = self.conn.take() {
            match self.member.take() {
                Some(member) => member.abandon(conn),
                None => detach(conn),
            }
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = PooledConn;
    fn deref(&self) -> &PooledConn {
        self.conn
            .as_ref()
            .expect("a Tx holds its connection until commit")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PooledConn {
        self.conn
            .as_mut()
            .expect("a Tx holds its connection until commit")
    }
}

/// The current time as stored: UTC without zone, to the microsecond (both
/// backends keep microseconds, so a value read back compares equal).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread a SQLite call ran on, and the caller's.
    async fn threads_of_a_call(db: &Db) -> (std::thread::ThreadId, std::thread::ThreadId) {
        let mut conn = db.conn().await.expect("a connection");
        let PooledConn::Sqlite(c) = &mut conn else {
            panic!("a SQLite pool")
        };
        let caller = std::thread::current().id();
        let ran_on = c
            .spawn_blocking(|_| Ok(std::thread::current().id()))
            .await
            .expect("the call runs");
        (caller, ran_on)
    }

    #[test]
    fn sqlite_calls_run_on_the_worker_of_a_shared_runtime_only() {
        let dir = tempfile::tempdir().expect("a folder");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let shared = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (caller, ran_on) = shared.block_on(async {
            let db = Db::connect(&url, 2).await.expect("the database opens");
            threads_of_a_call(&db).await
        });
        assert_eq!(caller, ran_on, "no hand-off to a blocking thread");
        drop(shared);
        let single = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (caller, ran_on) = single.block_on(async {
            let db = Db::connect(&url, 2).await.expect("the database opens");
            threads_of_a_call(&db).await
        });
        assert_ne!(
            caller, ran_on,
            "on one thread a call that waits must not hold up the others"
        );
    }
}
