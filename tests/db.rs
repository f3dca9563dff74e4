//! The query layer and migrations on both backends.

mod common;

use common::{fresh_database, Backend};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use intercoop::db::schema::audit_log;
use intercoop::db::Db;

both_backends!(
    migrations_apply_once,
    migrations_revert_and_apply_again,
    transactions_commit_or_roll_back,
    unique_violations_are_recognised
);

async fn open(backend: Backend, dir: &std::path::Path) -> Db {
    let url = fresh_database(backend, dir).await;
    Db::connect(&url, 4).await.expect("connect")
}

async fn migrations_apply_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, dir.path()).await;
    let first = db.migrate().await.unwrap();
    assert!(first >= 1, "a fresh database gets every migration");
    assert_eq!(db.migrate().await.unwrap(), 0, "a second run applies nothing");
    // Every table of the schema answers a query.
    let mut conn = db.conn().await.unwrap();
    use intercoop::db::schema::*;
    intercoop::q!(&mut conn, |c| instance::table.count().get_result::<i64>(c).await).unwrap();
    intercoop::q!(&mut conn, |c| actors::table.count().get_result::<i64>(c).await).unwrap();
    intercoop::q!(&mut conn, |c| users::table.count().get_result::<i64>(c).await).unwrap();
    intercoop::q!(&mut conn, |c| sessions::table.count().get_result::<i64>(c).await).unwrap();
    intercoop::q!(&mut conn, |c| api_tokens::table
        .count()
        .get_result::<i64>(c)
        .await)
    .unwrap();
    intercoop::q!(&mut conn, |c| login_attempts::table
        .count()
        .get_result::<i64>(c)
        .await)
    .unwrap();
    intercoop::q!(&mut conn, |c| audit_log::table.count().get_result::<i64>(c).await).unwrap();
}

/// `intercoop migrate --revert N` undoes every migration (each down.sql
/// runs on its database), keeping the rows of a table it rebuilds; applying
/// them again gives the same schema.
async fn migrations_revert_and_apply_again(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, dir.path()).await;
    let all = db.migrate().await.unwrap();
    {
        let mut conn = db.conn().await.unwrap();
        use diesel_async::SimpleAsyncConnection;
        intercoop::q!(&mut conn, |c| c
            .batch_execute(
                "INSERT INTO actors (ap_id, kind, handle, domain, created_at, updated_at) \
                 VALUES ('https://x.test/a', 'Person', 'a', 'x.test', '2026-01-01 00:00:00', '2026-01-01 00:00:00'); \
                 INSERT INTO reports (actor_id, activity_id, content, created_at) \
                 SELECT id, 'https://x.test/flag', 'Spam', '2026-01-01 00:00:00' FROM actors"
            )
            .await)
        .unwrap();
    }
    // Back to before member_safety (the third newest), whose down.sql rebuilds reports.
    assert_eq!(db.revert(3).await.unwrap(), 3);
    {
        let mut conn = db.conn().await.unwrap();
        use intercoop::db::schema::reports;
        // Read without the columns the revert removed.
        let kept: Vec<String> = intercoop::q!(&mut conn, |c| reports::table
            .select(reports::content)
            .load(c)
            .await)
        .unwrap();
        assert_eq!(
            kept,
            vec!["Spam".to_string()],
            "the rebuilt reports keep their rows"
        );
    }
    assert_eq!(
        db.revert(usize::MAX).await.unwrap(),
        all - 3,
        "every migration reverts"
    );
    assert_eq!(db.migrate().await.unwrap(), all, "and applies again");
    assert_eq!(db.revert(0).await.unwrap(), 0);
}

async fn count_audit(db: &Db) -> i64 {
    let mut conn = db.conn().await.unwrap();
    intercoop::q!(&mut conn, |c| audit_log::table.count().get_result(c).await).unwrap()
}

async fn transactions_commit_or_roll_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, dir.path()).await;
    db.migrate().await.unwrap();

    // Dropped without commit: rolled back, and the pool stays usable.
    {
        let mut tx = db.begin().await.unwrap();
        intercoop::db::queries::accounts::audit(&mut tx, None, "test", "rolled back")
            .await
            .unwrap();
    }
    assert_eq!(count_audit(&db).await, 0);

    let mut tx = db.begin().await.unwrap();
    intercoop::db::queries::accounts::audit(&mut tx, None, "test", "one")
        .await
        .unwrap();
    intercoop::db::queries::accounts::audit(&mut tx, None, "test", "two")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count_audit(&db).await, 2);

    // Concurrent writers queue instead of failing (SQLite: BEGIN IMMEDIATE + busy timeout).
    let mut handles = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            intercoop::db::queries::accounts::audit(&mut tx, None, "test", &i.to_string())
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            tx.commit().await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(count_audit(&db).await, 10);
    // Timestamps survive the round trip on both backends.
    let mut conn = db.conn().await.unwrap();
    let at: chrono::NaiveDateTime = intercoop::q!(&mut conn, |c| audit_log::table
        .select(audit_log::created_at)
        .first(c)
        .await)
    .unwrap();
    assert!((intercoop::db::now() - at).num_seconds().abs() < 60);
}

async fn unique_violations_are_recognised(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(backend, dir.path()).await;
    db.migrate().await.unwrap();
    let mut conn = db.conn().await.unwrap();
    let user = intercoop::db::models::NewUser {
        username: "same".into(),
        email: None,
        display_name: String::new(),
        password_hash: "x".into(),
        role: "member".into(),
        created_at: intercoop::db::now(),
    };
    intercoop::db::queries::accounts::insert_user(&mut conn, &user)
        .await
        .unwrap();
    let err = intercoop::db::queries::accounts::insert_user(&mut conn, &user)
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_postgres_says_what_to_check() {
    // Port 9 (discard) on loopback: nothing listens there.
    let err = Db::connect("postgres://u:secret@127.0.0.1:9/db", 1)
        .await
        .err()
        .expect("fails");
    let text = err.to_string();
    assert!(text.contains("PostgreSQL is running"), "{text}");
    assert!(!text.contains("secret"), "the password is hidden: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_in_a_new_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a/b/c.db").display());
    let db = Db::connect(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    assert!(dir.path().join("a/b/c.db").exists());
}

/// SQLite connections plan without the values bound to them (otherwise each
/// `LIMIT ?` rebound makes SQLite prepare the statement again on every use),
/// and SQLite keeps no memory statistics (a process-wide mutex on every
/// allocation).
#[tokio::test]
async fn sqlite_is_tuned_for_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let _db = open(Backend::Sqlite, dir.path()).await;
    assert!(intercoop::db::sqlite_tuned());
}
