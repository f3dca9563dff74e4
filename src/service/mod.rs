//! Use cases: one function per thing a person or a peer can do, named
//! verb-noun. No HTTP and no SQL here: inputs are typed values, outputs typed
//! results or a [`ServiceError`]. Federation and the web call the same
//! functions.

pub mod accounts;
pub mod coop;
pub mod follows;
pub mod moderation;
pub mod news;
pub mod remote;
pub mod types;

use std::sync::Arc;

use crate::config::Config;
use crate::db::{Db, DbError};

/// What every use case may need: the database and the instance's settings.
#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub config: Arc<Config>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value the person typed is not acceptable; `field` names the form field.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
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
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            message: message.into(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
