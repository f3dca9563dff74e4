//! Actors, one file per kind: the co-op's document, the instance actor,
//! and actors of other servers.

pub mod coop;
pub mod instance;
pub mod remote;
