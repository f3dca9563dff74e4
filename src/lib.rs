//! Intercoop: a federated ActivityPub server for co-operatives.
//! See docs/architecture.md for the map of the code.

pub mod config;
pub mod crypto;
pub mod db;
pub mod federation;
pub mod http;
pub mod i18n;
pub mod roles;
pub mod server;
pub mod service;
pub mod state;
pub mod storage;
