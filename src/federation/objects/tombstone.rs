//! What a deleted object of ours becomes: a `Tombstone` (served with 410
//! at its id, and the object of our Delete).

use activitypub_federation::kinds::object::TombstoneType;
use serde::Serialize;

use crate::db::models::Object;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    pub former_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

pub fn document(o: &Object) -> Tombstone {
    Tombstone {
        id: o.ap_id.clone(),
        kind: TombstoneType::Tombstone,
        former_type: o.ap_type.clone(),
        deleted: o.deleted_at.map(crate::federation::json::rfc3339),
    }
}
