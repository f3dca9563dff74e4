//! Use cases: one function per thing a person or a peer can do, named
//! verb-noun. No HTTP and no SQL here: inputs are typed values, outputs typed
//! results or a [`ServiceError`]. Federation and the web call the same
//! functions.

pub mod accounts;
pub mod cache;
pub mod calendar;
pub mod caller;
pub mod conversation;
pub mod coop;
pub mod events;
pub mod follows;
pub mod forums;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod member_links;
pub mod members;
pub mod messages;
pub mod moderation;
pub mod news;
pub mod newsletter;
pub mod notifications;
pub mod objects;
pub mod people;
pub mod polls;
pub mod privacy;
pub mod remote;
pub mod surveys;
pub mod text;
pub mod types;

use std::sync::Arc;

pub use caller::Caller;

use crate::config::Config;
use crate::db::{Db, DbError};

/// What every use case may need: the database and the instance's settings.
#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub config: Arc<Config>,
    pub cache: Arc<cache::Cache>,
    /// Where uploads' bytes live (a directory or a bucket).
    pub media: Arc<crate::storage::MediaStore>,
}

impl Ctx {
    pub fn new(db: Db, config: Config) -> Ctx {
        Ctx {
            db,
            media: Arc::new(crate::storage::MediaStore::new(&config)),
            config: Arc::new(config),
            cache: Default::default(),
        }
    }

    /// The same context, whose first write logs an inbox activity's
    /// receipt in the same transaction (see [`crate::db::Carried`]).
    pub fn receiving(&self, carried: Arc<crate::db::Carried>) -> Ctx {
        Ctx {
            db: self.db.receiving(carried),
            ..self.clone()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value the person typed is not acceptable; `field` names the form
    /// field. `others` holds the form's further errors, so that a form shows
    /// them all at once, each next to its field.
    #[error("{}", all_messages(message, others))]
    Invalid {
        field: &'static str,
        message: String,
        others: Vec<(&'static str, String)>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RateLimited(String),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Something this instance depends on (object storage) does not answer;
    /// the message says so to the person, the log says why to the admin.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

fn all_messages(first: &str, others: &[(&'static str, String)]) -> String {
    std::iter::once(first)
        .chain(others.iter().map(|(_, m)| m.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            message: message.into(),
            others: Vec::new(),
        }
    }

    /// Every (field, message) of an invalid input; empty for other errors.
    pub fn field_errors(&self) -> Vec<(&'static str, String)> {
        match self {
            ServiceError::Invalid {
                field,
                message,
                others,
            } => {
                let mut all = vec![(*field, message.clone())];
                all.extend(others.iter().cloned());
                all
            }
            _ => Vec::new(),
        }
    }
}

/// Gathers a form's validation errors instead of stopping at the first.
#[derive(Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The value, or None with its error recorded; other errors pass through.
    pub fn take<T>(&mut self, r: ServiceResult<T>) -> ServiceResult<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e @ ServiceError::Invalid { .. }) => {
                self.0.extend(e.field_errors());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether a field already has an error (so a second is not piled on).
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }

    pub fn finish(self) -> ServiceResult<()> {
        let mut all = self.0.into_iter();
        match all.next() {
            None => Ok(()),
            Some((field, message)) => Err(ServiceError::Invalid {
                field,
                message,
                others: all.collect(),
            }),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
