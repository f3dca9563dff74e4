//! The benchmark's load generator and meters: pre-signed POSTs fired over
//! keep-alive connections, GETs driven by a fixed number of clients with
//! their latencies, and a server process's CPU time and memory read from
//! `/proc` (Linux).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request ready to send: its signature headers and body.
pub type Signed = (Vec<(&'static str, String)>, Vec<u8>);

/// A process being measured.
#[derive(Clone, Copy, Debug)]
pub struct Proc(pub u32);

impl Proc {
    /// User plus system CPU time used so far, in seconds.
    pub fn cpu_secs(self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0)).unwrap_or_default();
        // Fields after the command name (which may hold spaces), from field 3.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime is field 14 and stime 15: indices 11 and 12 after the ')'.
        (ticks(11) + ticks(12)) / clock_ticks()
    }

    /// Resident memory now (`VmRSS`), in MB.
    pub fn rss_mb(self) -> f64 {
        self.status_kb("VmRSS:") / 1024.0
    }

    /// The most resident memory so far (`VmHWM`), in MB.
    pub fn peak_rss_mb(self) -> f64 {
        self.status_kb("VmHWM:") / 1024.0
    }

    fn status_kb(self, key: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// Clock ticks per second for `/proc` times (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A client that keeps its connections (one per concurrent sender).
pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// Waits until `p` is idle (under 2% of a core over a second), at most
/// `limit`; returns how long that took.
pub async fn settle(p: Proc, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut before = p.cpu_secs();
    while started.elapsed() < limit {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = p.cpu_secs();
        if now - before < 0.02 {
            break;
        }
        before = now;
    }
    started.elapsed()
}

/// What one run of POSTs gave.
pub struct Fired {
    pub accepted: usize,
    pub elapsed: Duration,
}

/// POSTs every request, in order (request `i` to `urls[i % urls.len()]`),
/// from `concurrency` senders; counts the 2xx answers. Every request
/// carries the first URL's `Host`, the public address the requests were
/// signed for, as a reverse proxy passes it to each process behind it.
pub async fn fire(
    client: &reqwest::Client,
    urls: &[url::Url],
    requests: Vec<Signed>,
    concurrency: usize,
) -> Fired {
    let host = urls
        .first()
        .map(|u| u.authority().to_string())
        .unwrap_or_default();
    let queue = Arc::new(std::sync::Mutex::new(requests.into_iter().enumerate()));
    let accepted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let client = client.clone();
        let urls = urls.to_vec();
        let accepted = accepted.clone();
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((i, (headers, body))) = next else { break };
                let mut req = client
                    .post(urls[i % urls.len()].clone())
                    .header("host", &host)
                    .header("content-type", "application/activity+json");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                if let Ok(r) = req.body(body).send().await {
                    if r.status().is_success() {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let accepted = accepted.load(Ordering::Relaxed);
    Fired {
        accepted,
        elapsed: started.elapsed(),
    }
}

/// What driving one page gave.
pub struct Driven {
    pub requests: usize,
    pub errors: usize,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// GETs `url` from `concurrency` clients for `duration`, taking
/// compressed answers as a browser does; latencies of the 200 answers
/// (others count as errors).
pub async fn drive(url: &str, concurrency: usize, duration: Duration) -> Driven {
    let client = client(concurrency);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0usize;
            while started.elapsed() < duration {
                let t = Instant::now();
                match client
                    .get(&url)
                    .header("accept-encoding", "gzip, deflate, br, zstd")
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(_) => times.push(t.elapsed()),
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (times, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((times, e)) = t.await {
            all.extend(times);
            errors += e;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let at = |q: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1;
        all[i].as_secs_f64() * 1000.0
    };
    Driven {
        requests: all.len(),
        errors,
        per_sec: all.len() as f64 / secs,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Waits until `url` answers 200; how long it took.
pub async fn wait_ready(url: &str, limit: Duration) -> Option<Duration> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(r) = client.get(url).send().await {
            if r.status() == 200 {
                return Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}
