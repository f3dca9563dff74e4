//! What nearly every request reads and rarely changes (the co-op's actor,
//! the domain policy, whom the co-op follows), kept for a second. A use case that changes one
//! clears it in this process at once; other processes on the same database
//! read it again within the second (deploy/multi-process.md).

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::moderation::DomainPolicy;
use super::ServiceResult;
use crate::db::models::Actor;

/// How long another process's change may take to be seen here.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// One cached value, with a generation so that a read that began before a
/// change cannot put the old value back after the change cleared it.
pub struct Slot<T> {
    inner: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    value: Option<(Instant, Arc<T>)>,
    generation: u64,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            inner: Mutex::new(SlotState {
                value: None,
                generation: 0,
            }),
        }
    }
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // A panic while holding this lock leaves nothing half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value, loaded by `load` when missing or older than [`FRESH_FOR`].
    pub async fn get<F, Fut>(&self, load: F) -> ServiceResult<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<T>>,
    {
        let generation = {
            let s = self.lock();
            if let Some((at, v)) = &s.value {
                if at.elapsed() < FRESH_FOR {
                    return Ok(v.clone());
                }
            }
            s.generation
        };
        let fresh = Arc::new(load().await?);
        let mut s = self.lock();
        if s.generation == generation {
            s.value = Some((Instant::now(), fresh.clone()));
        }
        Ok(fresh)
    }

    /// Forgets the value: the next read loads it.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.value = None;
        s.generation += 1;
    }
}

#[derive(Default)]
pub struct Cache {
    /// The co-op's actor (None before setup).
    pub coop: Slot<Option<Actor>>,
    pub policy: Slot<DomainPolicy>,
    /// The actors the co-op follows (accepted): the inbox asks for every
    /// post it receives whether to keep it.
    pub followed: Slot<HashSet<i64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_clear_during_a_load_keeps_the_old_value_out() {
        let slot: Slot<u32> = Slot::default();
        assert_eq!(*slot.get(|| async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(*slot.get(|| async { Ok(2) }).await.unwrap(), 1, "kept");
        slot.clear();
        // A load that started before a change: its value is returned to its
        // caller but not kept.
        let stale = slot.get(|| async {
            slot.clear();
            Ok(3)
        });
        assert_eq!(*stale.await.unwrap(), 3);
        assert_eq!(*slot.get(|| async { Ok(4) }).await.unwrap(), 4, "reloaded");
    }
}
