//! Queries, one file per area. Every function takes a `&mut PooledConn` (or a
//! `Tx`, which derefs to one) so that a service can put several in one
//! transaction.

/// `column IN (values)` for a short, fixed set of text values (the
/// visibilities a caller may read, a few activity types), as `= ? OR = ?
/// ...` of one shape whatever the count: diesel prepares an `eq_any` anew on
/// every SQLite call (its number of binds varies), where this one stays in
/// the statement cache. The last value fills the unused slots; an empty set
/// matches nothing (no stored value is the NUL character).
#[macro_export]
macro_rules! one_of {
    ($col:expr, $values:expr) => {{
        let values: &[&str] = &$values;
        debug_assert!(values.len() <= 5, "one_of! takes at most five values");
        let at = |i: usize| {
            values
                .get(i.min(values.len().saturating_sub(1)))
                .copied()
                .unwrap_or("\u{0}")
        };
        $col.eq(at(0))
            .or($col.eq(at(1)))
            .or($col.eq(at(2)))
            .or($col.eq(at(3)))
            .or($col.eq(at(4)))
    }};
}

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
