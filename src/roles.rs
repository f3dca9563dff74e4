//! What each role of an instance adds (`roles` in the config): the one
//! place roles turn into routes and background workers. Every instance
//! has setup, accounts, discovery, its actors, the inbox and the delivery
//! workers; the co-op role adds its content (news, events, polls and forums). The federation and directory roles join here.

use axum::Router;

use crate::config::{Config, Role};
use crate::http::{api, web};
use crate::state::AppState;

/// The routes of this instance's roles.
pub fn routes(config: &Config) -> Router<AppState> {
    let mut router = Router::new()
        .merge(web::routes())
        .merge(crate::federation::routes::routes());
    let mut api_routes = api::routes();
    for role in &config.roles {
        match role {
            Role::Coop => {
                router = router
                    .merge(web::news::routes())
                    .merge(web::newsletter::routes())
                    .merge(web::notifications::routes())
                    .merge(web::events::routes())
                    .merge(web::polls::routes())
                    .merge(web::forums::routes())
                    .merge(web::members::routes())
                    .merge(web::messages::routes())
                    .merge(web::surveys::routes())
                    .merge(web::media::routes())
                    .merge(web::feeds::routes());
                api_routes = api_routes.merge(api::coop_routes());
            }
            // Their modules (member co-ops, the shared map) come next;
            // `server` warns at start that they add nothing yet.
            Role::Federation | Role::Directory => {}
        }
    }
    router.nest("/api/v1", api_routes)
}

/// Routes that take uploads: mounted with the larger body limit and
/// timeout of `crate::service::media::MAX_UPLOAD_BYTES`.
pub fn upload_routes(config: &Config) -> Router<AppState> {
    let mut router = Router::new();
    if config.roles.contains(&Role::Coop) {
        router = router
            .merge(web::media::upload_routes())
            .nest("/api/v1", api::upload_routes());
    }
    router
}

/// Background work beside the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// Hourly: expired sessions, the inbox log's retention.
    Housekeeping,
    /// Outgoing events to activities and deliveries.
    Outbox,
    /// The delivery queue.
    Delivery,
    /// The instance's own follow-ups to domain events (`service::jobs`).
    Jobs,
    /// The mail queue (`service::mail`), when an SMTP server is set.
    Mail,
}

/// The workers an instance runs. Follows and profile updates federate
/// whatever the role, so these run on every instance; roles to come
/// add theirs here (the directory's profile refresher).
pub fn workers(config: &Config) -> Vec<Worker> {
    let mut workers = vec![
        Worker::Housekeeping,
        Worker::Outbox,
        Worker::Delivery,
        Worker::Jobs,
    ];
    if crate::service::mail::configured(config) {
        workers.push(Worker::Mail);
    }
    workers
}

/// Roles set in the config that this version does not build yet.
pub fn not_yet_built(config: &Config) -> Vec<Role> {
    config
        .roles
        .iter()
        .copied()
        .filter(|r| matches!(r, Role::Federation | Role::Directory))
        .collect()
}
