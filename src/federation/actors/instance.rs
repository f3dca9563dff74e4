//! The instance actor (`/actor`, an `Application`, FEP-2677): it signs the
//! fetches this server makes and answers for the server as a whole. It
//! shares the co-op's document shape; it has no followers, so a Follow of
//! it is refused, and it is not served at `/actors/{handle}`.

use crate::db::models::Actor;

pub fn is_instance(actor: &Actor) -> bool {
    actor.local && actor.kind == "Application"
}
