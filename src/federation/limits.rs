//! Bounds on the work and memory one remote server can cause: the replay
//! cache of accepted signatures, per-actor and per-domain inbox rates, and
//! short-lived memories of recent key refetches and failed fetches. All are
//! in memory and bounded; none sweeps a whole map under its lock per request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Signatures accepted in the last `window_secs`, in hourly buckets: a
/// bucket older than the window is dropped whole, and each bucket holds at
/// most `per_bucket` entries (past that, new signatures are not remembered
/// and only the activity-id de-duplication stops a replay).
pub struct ReplayCache {
    buckets: Mutex<VecDeque<(i64, HashSet<[u8; 32]>)>>,
    window_secs: i64,
    per_bucket: usize,
}

const BUCKET_SECS: i64 = 3600;

impl ReplayCache {
    pub fn new(window_secs: i64, per_bucket: usize) -> ReplayCache {
        ReplayCache {
            buckets: Mutex::new(VecDeque::new()),
            window_secs,
            per_bucket,
        }
    }

    /// Records (key id, decoded signature bytes); false if already seen.
    /// Keyed on the decoded bytes so that a re-encoding of the same
    /// signature (padding, whitespace, another header layout) is still a replay.
    pub fn first_use(&self, key_id: &str, signature: &[u8], now: i64) -> bool {
        let mut h = Sha256::new();
        h.update(key_id.as_bytes());
        h.update([0u8]);
        h.update(signature);
        let digest: [u8; 32] = h.finalize().into();
        let bucket = now.div_euclid(BUCKET_SECS);
        let oldest = (now - self.window_secs).div_euclid(BUCKET_SECS);
        let mut buckets = self.buckets.lock().expect("replay cache");
        while buckets.front().is_some_and(|(b, _)| *b < oldest) {
            buckets.pop_front();
        }
        if buckets.iter().any(|(_, set)| set.contains(&digest)) {
            return false;
        }
        if buckets.back().is_none_or(|(b, _)| *b != bucket) {
            buckets.push_back((bucket, HashSet::new()));
        }
        if let Some((_, set)) = buckets.back_mut() {
            if set.len() < self.per_bucket {
                set.insert(digest);
            }
        }
        true
    }
}

/// A sliding one-minute count per key: the last full minute's count,
/// weighted by how much of it still lies within sixty seconds, plus this
/// minute's. A fixed window would let a burst straddling the minute's turn
/// through at twice the rate. The maps are replaced, not swept, when the
/// minute turns; keys beyond `max_keys` in one minute are not counted (the
/// per-domain limit still applies to them).
pub struct RateLimiter {
    state: Mutex<Windows>,
    max_keys: usize,
}

struct Windows {
    minute: i64,
    current: HashMap<String, u32>,
    previous: HashMap<String, u32>,
}

impl Windows {
    fn turn_to(&mut self, minute: i64) {
        if minute == self.minute {
            return;
        }
        self.previous = if minute == self.minute + 1 {
            std::mem::take(&mut self.current)
        } else {
            HashMap::new()
        };
        self.current = HashMap::new();
        self.minute = minute;
    }
}

/// Whether `previous` from the last minute and `current` from this one, at
/// `second` into this minute, reach `limit` (in sixtieths, to stay exact).
fn over(previous: u32, current: u32, second: i64, limit: u32) -> bool {
    u64::from(previous) * (60 - second) as u64 + u64::from(current) * 60 >= u64::from(limit) * 60
}

impl RateLimiter {
    pub fn new(max_keys: usize) -> RateLimiter {
        RateLimiter {
            state: Mutex::new(Windows {
                minute: 0,
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
            max_keys,
        }
    }

    /// Counts one request for `key`; `Err(seconds to wait)` when over
    /// `per_minute` (0 means no limit). Refused requests are not counted.
    pub fn check(&self, key: &str, per_minute: u32, now: i64) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let mut w = self.state.lock().expect("rate limiter");
        w.turn_to(now.div_euclid(60));
        let second = now.rem_euclid(60);
        let previous = w.previous.get(key).copied().unwrap_or(0);
        let current = w.current.get(key).copied().unwrap_or(0);
        if over(previous, current, second, per_minute) {
            // The first second at which, with no more requests, the count
            // is under the limit again; within two minutes it always is.
            let wait = (1..=120i64)
                .find(|s| {
                    let at = second + s;
                    let (p, c) = match at.div_euclid(60) {
                        0 => (previous, current),
                        1 => (current, 0),
                        _ => (0, 0),
                    };
                    !over(p, c, at.rem_euclid(60), per_minute)
                })
                .unwrap_or(120);
            return Err(wait as u64);
        }
        if let Some(n) = w.current.get_mut(key) {
            *n += 1;
        } else if w.current.len() < self.max_keys {
            w.current.insert(key.to_string(), 1);
        }
        Ok(())
    }
}

/// Keys remembered for a while (recent key refetches, failed fetches with
/// why), at most `max` of them: when full, entries past their time are
/// dropped, and if none are, the oldest half goes.
pub struct Recent<V: Clone> {
    map: Mutex<HashMap<String, (Instant, V)>>,
    ttl: Duration,
    max: usize,
}

impl<V: Clone> Recent<V> {
    pub fn new(ttl: Duration, max: usize) -> Recent<V> {
        Recent {
            map: Mutex::new(HashMap::new()),
            ttl,
            max,
        }
    }

    /// The value remembered for `key`, if still fresh.
    pub fn get(&self, key: &str) -> Option<V> {
        let map = self.map.lock().expect("recent map");
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: &str, value: V) {
        let mut map = self.map.lock().expect("recent map");
        if map.len() >= self.max {
            // Rare (only past `max` distinct keys within the ttl): the sweep
            // is amortised over the `max` inserts that filled the map.
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.max {
                let mut ages: Vec<Instant> = map.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (at, _)| *at > cut);
            }
        }
        map.insert(key.to_string(), (Instant::now(), value));
    }

    pub fn remove(&self, key: &str) {
        self.map.lock().expect("recent map").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_caught_within_the_window_only() {
        let cache = ReplayCache::new(12 * 3600, 10);
        let t = 1_700_000_000;
        assert!(cache.first_use("k", b"sig", t));
        assert!(!cache.first_use("k", b"sig", t + 10), "same signature again");
        assert!(
            cache.first_use("other-key", b"sig", t + 10),
            "keyed on the key id too"
        );
        assert!(!cache.first_use("k", b"sig", t + 11 * 3600), "still inside 12 h");
        assert!(
            cache.first_use("k", b"sig", t + 14 * 3600),
            "forgotten after the window"
        );
    }

    #[test]
    fn replay_memory_is_bounded() {
        let cache = ReplayCache::new(12 * 3600, 100);
        let t = 1_700_000_000;
        for i in 0..10_000u32 {
            cache.first_use("k", &i.to_be_bytes(), t + i as i64 * 10);
        }
        let buckets = cache.buckets.lock().unwrap();
        assert!(buckets.len() <= 14);
        assert!(buckets.iter().all(|(_, s)| s.len() <= 100));
    }

    #[test]
    fn rate_limits_per_key_and_minute() {
        let limiter = RateLimiter::new(1000);
        let t = 1_700_000_020; // 40 s into a minute
        for _ in 0..3 {
            assert!(limiter.check("a", 3, t).is_ok());
        }
        // Three in the last sixty seconds until 21 s into the next minute.
        assert_eq!(limiter.check("a", 3, t), Err(21));
        assert!(
            limiter.check("b", 3, t).is_ok(),
            "other keys have their own count"
        );
        assert!(
            limiter.check("a", 3, t + 20).is_err(),
            "the turn of the minute does not reset the count"
        );
        assert!(limiter.check("a", 3, t + 41).is_ok(), "a minute later");
        assert!(limiter.check("a", 0, t).is_ok(), "0 is no limit");
    }

    #[test]
    fn a_burst_across_the_minute_is_one_burst() {
        let limiter = RateLimiter::new(1000);
        let t = 1_700_000_039; // 59 s into a minute
        for _ in 0..10 {
            assert!(limiter.check("a", 10, t).is_ok());
        }
        // The weighted count lets at most the fraction that has slid out.
        let more = (0..20).filter(|_| limiter.check("a", 10, t + 2).is_ok()).count();
        assert!(more <= 1, "{more} more went through");
        assert!(limiter.check("a", 10, t + 200).is_ok(), "long after");
    }

    #[test]
    fn recent_forgets_and_stays_bounded() {
        let r: Recent<u8> = Recent::new(Duration::from_secs(60), 10);
        r.insert("a", 1);
        assert_eq!(r.get("a"), Some(1));
        for i in 0..100 {
            r.insert(&format!("k{i}"), 0);
        }
        assert!(r.map.lock().unwrap().len() <= 10);
        let short: Recent<u8> = Recent::new(Duration::from_millis(1), 10);
        short.insert("a", 1);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.get("a"), None);
    }
}
