//! Who an object or activity is for: the one place that turns a
//! `Visibility` (with the author and the people mentioned) into
//! ActivityStreams addressing, reads addressing back into a `Visibility`,
//! and finds the inboxes a delivery goes to. Nothing else in the crate
//! names the public collection.

use crate::db::models::Actor;
use crate::db::queries::follows as follow_q;
use crate::db::{DbResult, PooledConn};
use crate::service::types::Visibility;

/// The ActivityStreams public collection. Peers also write it compacted.
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

pub(crate) fn is_public(s: &str) -> bool {
    s == PUBLIC || s == "as:Public" || s == "Public"
}

/// The followers collection of an actor (ours always have one; a remote
/// actor without one gets the conventional URL, which is only ever
/// compared, never fetched).
pub fn followers_of(actor: &Actor) -> String {
    actor
        .followers_url
        .clone()
        .unwrap_or_else(|| format!("{}/followers", actor.ap_id))
}

/// The members collection: members-only objects are addressed to it and
/// never to the public collection. One per instance (the co-op's members),
/// whoever the author is (the co-op, or a member's Person in a
/// members-only forum). An address only: it is not served.
pub fn members_of(actor: &Actor) -> String {
    format!(
        "{}/collections/members",
        super::json::origin(&actor.ap_id).unwrap_or_default()
    )
}

/// Who receives a members-only object: the members' proved accounts,
/// grouped by server. Each server gets its own copy naming only its own
/// members (Mastodon shows a non-public post to the accounts of its own
/// that `to` and `cc` name; naming every member to every server would
/// publish the register). (actor ids, inboxes) per server.
pub async fn member_recipients(conn: &mut PooledConn) -> DbResult<Vec<(Vec<String>, Vec<String>)>> {
    let mut by_host: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> = Default::default();
    for a in crate::db::queries::members::linked_actors(conn).await? {
        let entry = by_host.entry(a.domain.clone()).or_default();
        let inbox = a
            .shared_inbox
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or(a.inbox.clone());
        entry.0.push(a.ap_id);
        if !inbox.is_empty() && !entry.1.contains(&inbox) {
            entry.1.push(inbox);
        }
    }
    Ok(by_host.into_values().collect())
}

/// `to` and `cc` of an object and of the activity that carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

impl Audience {
    /// An object by `author`, seen by `visibility`, mentioning `mentions`
    /// (actor ids), addressed as Mastodon does for the same setting.
    pub fn of(visibility: Visibility, author: &Actor, mentions: &[String]) -> Audience {
        let followers = followers_of(author);
        let mut a = match visibility {
            Visibility::Public => Audience {
                to: vec![PUBLIC.into()],
                cc: vec![followers],
            },
            Visibility::Unlisted => Audience {
                to: vec![followers],
                cc: vec![PUBLIC.into()],
            },
            Visibility::Followers => Audience {
                to: vec![followers],
                cc: vec![],
            },
            Visibility::Members => Audience {
                to: vec![members_of(author)],
                cc: vec![],
            },
            Visibility::Direct => Audience {
                to: mentions.to_vec(),
                cc: vec![],
            },
        };
        if visibility != Visibility::Direct {
            a.cc.extend(mentions.iter().cloned());
        }
        a
    }

    /// Only one actor (follow requests and their answers).
    pub fn only(actor: &Actor) -> Audience {
        Audience {
            to: vec![actor.ap_id.clone()],
            cc: vec![],
        }
    }

    /// Whether anyone may read it (an activity served at its id, unsigned).
    pub fn is_open(&self) -> bool {
        self.to.iter().chain(&self.cc).any(|s| is_public(s))
    }

    /// Reads a remote object's addressing back, as Mastodon does: public
    /// in `to` is public, in `cc` unlisted; the author's followers is
    /// followers-only; anything else is direct.
    pub fn visibility(&self, author: &Actor) -> Visibility {
        let followers = followers_of(author);
        if self.to.iter().any(|s| is_public(s)) {
            Visibility::Public
        } else if self.cc.iter().any(|s| is_public(s)) {
            Visibility::Unlisted
        } else if self.to.iter().chain(&self.cc).any(|s| *s == followers) {
            Visibility::Followers
        } else {
            Visibility::Direct
        }
    }
}

/// The inboxes that receive an object of `author` with `visibility`: its
/// followers (shared inboxes where servers have one) for everything but
/// members-only and direct, plus the inboxes of the actors mentioned.
/// Members-only objects reach their members through
/// `member_recipients`, one copy per server.
pub async fn inboxes(
    conn: &mut PooledConn,
    visibility: Visibility,
    author: &Actor,
    mentioned: &[Actor],
) -> DbResult<Vec<String>> {
    let mut inboxes = match visibility {
        Visibility::Public | Visibility::Unlisted | Visibility::Followers => {
            follow_q::follower_inboxes(conn, author.id).await?
        }
        Visibility::Members | Visibility::Direct => Vec::new(),
    };
    inboxes.extend(mentioned.iter().map(|a| a.inbox.clone()));
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

/// The inboxes of an actor's followers (shared where they have one).
pub async fn followers_inboxes(conn: &mut PooledConn, actor: &Actor) -> DbResult<Vec<String>> {
    follow_q::follower_inboxes(conn, actor.id).await
}

/// Who else an object concerns beyond its author's audience: named in
/// its `cc` and sent its changes. An event's participants and a poll's
/// voters hear of changes; a member's reply names and reaches the author
/// it answers and the co-op's followers (whose servers show it in the
/// conversation, as it answers an account they follow).
#[derive(Debug, Default)]
pub struct Related {
    pub cc: Vec<String>,
    pub inboxes: Vec<String>,
    /// The forum's group (FEP-1b12 `audience`) of a thread or a reply in one.
    pub audience: Option<String>,
}

pub async fn related(conn: &mut PooledConn, object: &crate::db::models::Object) -> DbResult<Related> {
    let mut r = related_by_kind(conn, object).await?;
    // In a forum: the group is named, and another server's group gets the
    // post in its inbox (ours announces it instead).
    if let Some((_, _, group)) = crate::db::queries::forums::placement(conn, object).await? {
        r.cc.insert(0, group.ap_id.clone());
        if !group.local {
            r.inboxes.push(group.inbox.clone());
        }
        r.audience = Some(group.ap_id);
    }
    Ok(r)
}

async fn related_by_kind(conn: &mut PooledConn, object: &crate::db::models::Object) -> DbResult<Related> {
    use crate::db::models::ContentKind;
    use crate::db::queries::{actors, calendar, content, instance, polls};
    Ok(match ContentKind::from_db(&object.kind) {
        ContentKind::Event => Related {
            inboxes: calendar::participant_inboxes(conn, object.id).await?,
            ..Default::default()
        },
        ContentKind::Poll => Related {
            inboxes: polls::voter_inboxes(conn, object.id).await?,
            ..Default::default()
        },
        ContentKind::Note if object.local => {
            let mut r = Related::default();
            let parent = match &object.in_reply_to {
                Some(p) => content::find_by_ap_id(conn, p).await?,
                None => None,
            };
            if let Some(parent) = parent {
                if let Some(parent_author) = actors::find(conn, parent.author_id).await? {
                    r.cc.push(parent_author.ap_id.clone());
                    if !parent_author.local {
                        r.inboxes
                            .push(parent_author.shared_inbox.clone().unwrap_or(parent_author.inbox));
                    }
                }
            }
            let coop = match instance::get_or_create(conn).await?.coop_actor_id {
                Some(id) => actors::find(conn, id).await?,
                None => None,
            };
            if let Some(coop) = coop {
                r.cc.push(followers_of(&coop));
                r.inboxes.extend(follow_q::follower_inboxes(conn, coop.id).await?);
            }
            r.cc.dedup();
            r
        }
        ContentKind::News | ContentKind::Note | ContentKind::Thread => Related::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            ap_id: "https://coop.example/actors/coop".into(),
            followers_url: Some("https://coop.example/actors/coop/followers".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_visibility_reads_back_as_itself() {
        let a = actor();
        let mention = vec!["https://peer.example/users/ana".to_string()];
        for v in [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Followers,
            Visibility::Direct,
        ] {
            let audience = Audience::of(v, &a, &mention);
            assert_eq!(audience.visibility(&a), v, "{v:?}: {audience:?}");
            assert_eq!(audience.is_open(), v.is_open(), "{v:?}");
        }
        let members = Audience::of(Visibility::Members, &a, &[]);
        assert!(!members.is_open());
        assert_eq!(
            members.to,
            vec!["https://coop.example/collections/members".to_string()]
        );
    }

    #[test]
    fn compact_public_forms_count_as_public() {
        let a = actor();
        for p in ["as:Public", "Public", PUBLIC] {
            let audience = Audience {
                to: vec![p.into()],
                cc: vec![],
            };
            assert_eq!(audience.visibility(&a), Visibility::Public);
        }
    }
}
