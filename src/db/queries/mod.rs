//! Queries, one file per area. Every function takes a `&mut PooledConn` (or a
//! `Tx`, which derefs to one) so that a service can put several in one
//! transaction.

pub mod accounts;
pub mod actors;
pub mod calendar;
pub mod content;
pub mod deliveries;
pub mod domains;
pub mod events;
pub mod follows;
pub mod forums;
pub mod inbox_log;
pub mod instance;
pub mod mail;
pub mod media;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod outbox;
pub mod polls;
pub mod retention;
pub mod surveys;
