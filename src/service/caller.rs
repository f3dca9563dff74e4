//! Who is asking: the one authorization check for web, API, and later SMS.
//! Handlers turn their credential (session cookie, bearer token) into a
//! `Caller`; use cases call `require` before they change anything, so a
//! rule about roles lives here and nowhere else.

use super::types::UserRole;
use super::{ServiceError, ServiceResult};
use crate::db::models::User;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No login (or a session that ran out).
    Anonymous,
    /// A local account, with its role.
    User { id: i64, role: UserRole },
    /// A remote actor, verified by its signature (row id of the actor).
    Remote { actor: i64 },
}

impl Caller {
    /// The caller for a local account; a deactivated one is anonymous.
    pub fn for_user(user: &User) -> Caller {
        if user.disabled {
            return Caller::Anonymous;
        }
        Caller::User {
            id: user.id,
            role: UserRole::from_db(&user.role),
        }
    }

    pub fn role(&self) -> Option<UserRole> {
        match self {
            Caller::User { role, .. } => Some(*role),
            Caller::Anonymous | Caller::Remote { .. } => None,
        }
    }

    /// Whether the caller has `role` (or a higher one).
    pub fn can(&self, role: UserRole) -> bool {
        self.role().is_some_and(|r| r >= role)
    }

    /// The user id of a caller with `role` or higher; otherwise why not:
    /// `Unauthorized` for someone not logged in, `Forbidden` for a role too low.
    pub fn require(&self, role: UserRole) -> ServiceResult<i64> {
        match self {
            Caller::User { id, role: has } if *has >= role => Ok(*id),
            Caller::User { .. } => Err(ServiceError::Forbidden(format!(
                "This is for the co-op's {}s. Ask an admin if you need access.",
                role.as_str()
            ))),
            Caller::Anonymous | Caller::Remote { .. } => Err(ServiceError::Unauthorized(
                "Log in first: this needs a co-op account.".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below() {
        let editor = Caller::User {
            id: 3,
            role: UserRole::Editor,
        };
        assert_eq!(editor.require(UserRole::Member).unwrap(), 3);
        assert_eq!(editor.require(UserRole::Editor).unwrap(), 3);
        assert!(matches!(
            editor.require(UserRole::Admin),
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            Caller::Anonymous.require(UserRole::Member),
            Err(ServiceError::Unauthorized(_))
        ));
        assert!(matches!(
            Caller::Remote { actor: 9 }.require(UserRole::Member),
            Err(ServiceError::Unauthorized(_))
        ));
    }
}
