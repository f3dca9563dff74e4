//! Starting and stopping the server: connect and migrate the database, build
//! the state and router, run background workers, shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::http::{self, AppState};
use crate::i18n::Catalogs;
use crate::roles::Worker;
use crate::service::{accounts, coop, Ctx};

/// Why the server could not start; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Database(String),
    #[error("cannot listen on {addr}: {cause}. {hint}")]
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
        hint: &'static str,
    },
    #[error("{0}")]
    Other(String),
}

/// Everything a running instance needs, ready before the port opens.
pub struct Prepared {
    pub state: AppState,
    /// The one-time setup link, when the co-op is not set up yet.
    pub setup_link: Option<String>,
}

/// Installs the process-wide TLS crypto provider (ring) for outgoing https.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn connect(config: &Config) -> Result<Db, StartError> {
    let db = Db::connect(&config.database_url, config.max_connections)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    let applied = db
        .migrate()
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    if applied > 0 {
        tracing::info!(
            applied,
            database = db.display_url(),
            "database migrations applied"
        );
    }
    Ok(db)
}

pub async fn prepare(config: Config) -> Result<Prepared, StartError> {
    init_tls();
    if config.local_mode() {
        tracing::warn!(
            base_url = %config.base_url,
            "LOCAL MODE: serving plain http on a localhost address. Fine for trying Intercoop out; \
             other fediverse servers cannot reach this instance. Set base_url to your https domain to go live."
        );
    }
    let db = connect(&config).await?;
    let i18n = Catalogs::load(&config.locales_dir).map_err(StartError::Other)?;
    let ctx = Ctx::new(db, config);
    ctx.media
        .check()
        .await
        .map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!("uploads are stored in the {}", ctx.media.describe());
    let setup_link = coop::prepare_setup(&ctx)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    let federation = crate::federation::Federation::new(ctx.clone());
    Ok(Prepared {
        state: AppState::new(ctx, federation, i18n),
        setup_link,
    })
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|cause| {
        let hint = match cause.kind() {
            std::io::ErrorKind::AddrInUse => {
                "Another program uses this port: stop it, or set `listen` in intercoop.toml (or INTERCOOP_LISTEN) to a free port."
            }
            std::io::ErrorKind::PermissionDenied => "Ports below 1024 need privileges: use a port such as 8080 behind a reverse proxy.",
            _ => "Check the `listen` setting.",
        };
        StartError::Listen { addr, cause, hint }
    })
}

/// Serves until `shutdown` resolves, then stops accepting, drains in-flight
/// requests and waits for the background workers to finish their step.
pub async fn serve(
    prepared: Prepared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let state = prepared.state;
    for role in crate::roles::not_yet_built(&state.ctx.config) {
        tracing::warn!(
            role = role.as_str(),
            "this role is in the configuration but this version does not build it yet; it adds nothing"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = spawn_workers(state.clone(), stop_rx);
    let inbox_tasks = state.federation.inbox_tasks.clone();
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await;
    // Activities whose requests were dropped (the sender hung up) are
    // still being processed: their ids are logged, so a retry would be
    // taken for a duplicate if they stopped half-way.
    inbox_tasks.close();
    if tokio::time::timeout(Duration::from_secs(20), inbox_tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = inbox_tasks.len(),
            "shutting down with inbox activities still being processed"
        );
    }
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(20), w).await;
    }
    tracing::info!("stopped");
    result.map_err(|e| StartError::Other(format!("the HTTP server failed: {e}")))
}

/// Background work that runs beside the HTTP server: hourly housekeeping
/// (expired sessions, the inbox log's retention), the outbox worker and the
/// delivery worker. Each worker checks the
/// stop signal between steps, so a shutdown never cuts a step in half.
fn spawn_workers(state: AppState, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    crate::roles::workers(&state.ctx.config)
        .into_iter()
        .map(|w| match w {
            Worker::Housekeeping => tokio::spawn(housekeeping(state.ctx.clone(), stop.clone())),
            Worker::Jobs => tokio::spawn(crate::service::jobs::run(state.ctx.clone(), stop.clone())),
            Worker::Mail => tokio::spawn(crate::service::mail::run(state.ctx.clone(), stop.clone())),
            Worker::Outbox => tokio::spawn(crate::federation::outbox::run(
                state.federation.clone(),
                stop.clone(),
            )),
            Worker::Delivery => tokio::spawn(crate::federation::delivery::run(
                state.federation.clone(),
                stop.clone(),
            )),
        })
        .collect()
}

async fn housekeeping(ctx: crate::service::Ctx, mut stop: watch::Receiver<bool>) {
    loop {
        match accounts::delete_expired_sessions(&ctx).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
        match crate::service::remote::prune_inbox_log(&ctx).await {
            Ok((0, 0)) => {}
            Ok((blanked, deleted)) => tracing::info!(blanked, deleted, "old inbox log entries pruned"),
            Err(e) => tracing::warn!(error = %e, "could not prune the inbox log"),
        }
        match crate::service::newsletter::expire(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "unconfirmed newsletter subscriptions removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove unconfirmed subscriptions"),
        }
        match crate::service::privacy::apply_retention(&ctx).await {
            Ok(r) if r.total() == 0 => {}
            Ok(r) => tracing::info!(
                remote_posts = r.remote_posts,
                messages = r.messages,
                logs = r.logs,
                "retention applied"
            ),
            Err(e) => tracing::warn!(error = %e, "could not apply the retention settings"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, containers).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
