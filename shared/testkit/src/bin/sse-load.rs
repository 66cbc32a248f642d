//! `sse-load`: many push streams against one gateway (k6 has no SSE client).
//!
//! Joins `--streams` buyers to a paused room (`queue_all`), opens one
//! `GET /v1/queue/events` stream per buyer — spread over several loopback source
//! addresses (127.0.0.x: each has its own ~28,000 ephemeral ports) — and records every
//! event with the time it arrived. Then it measures, on the gateway under test:
//! - **memory per stream**: the gateway's RSS (`/proc/<pid>/status`) with every stream open
//!   minus before, divided by the streams;
//! - **Redis commands per tick**: `INFO commandstats` calls over `--quiet-secs` with the
//!   streams open and the room paused, per tick of the room (compare two runs with
//!   different stream counts);
//! - **delivery of admissions**: the room opens at `--batch` buyers per `--tick-ms`; each
//!   admitted buyer's `active` event carries `expires_at`, so its admission time is
//!   `expires_at - active_ttl_secs`, and the delivery latency is the event's arrival minus
//!   that (one clock: everything runs on this machine).
//!
//! `--streams` may list several counts (`1000,18000`): the streams are opened in steps, and
//! the memory and the Redis calls are measured at each, so the two figures compare on the
//! same room, gateway and Redis. Prints a human summary and one JSON line. Usage:
//! `sse-load --concert ID --streams N[,N...] [--base URL] [--ops URL] [--admin-token T]
//! [--gateway-pid PID] [--sources 4] [--tick-ms 1000] [--batch 500] [--admissions 2500]
//! [--quiet-secs 10] [--redis URL]`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use testkit::sse::SseStream;
use testkit::tools::{read_options, Target};

const TTL_SECS: i64 = 600;

const USAGE: &str = "see the module docs of shared/testkit/src/bin/sse-load.rs";

struct Args {
    concert: i64,
    /// Stream counts to reach, in steps (the last is the total).
    steps: Vec<usize>,
    target: Target,
    gateway_pid: Option<u32>,
    sources: u8,
    tick_ms: u64,
    batch: u64,
    admissions: usize,
    quiet_secs: u64,
    redis_url: String,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        concert: 0,
        steps: vec![1_000],
        target: Target::default(),
        gateway_pid: None,
        sources: 4,
        tick_ms: 1_000,
        batch: 500,
        admissions: 2_500,
        quiet_secs: 10,
        redis_url: testkit::redis_url(),
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--concert" => a.concert = cli.parsed(option)?,
            "--streams" => {
                a.steps = cli
                    .value(option)?
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--gateway-pid" => a.gateway_pid = Some(cli.parsed(option)?),
            "--sources" => a.sources = cli.parsed(option)?,
            "--tick-ms" => a.tick_ms = cli.parsed(option)?,
            "--batch" => a.batch = cli.parsed(option)?,
            "--admissions" => a.admissions = cli.parsed(option)?,
            "--quiet-secs" => a.quiet_secs = cli.parsed(option)?,
            "--redis" => a.redis_url = cli.value(option)?,
            _ => return a.target.take(option, cli),
        }
        Ok(true)
    })?;
    a.steps.sort_unstable();
    if a.concert <= 0 || a.steps.first().is_none_or(|&n| n == 0) || a.sources == 0 {
        bail!("--concert, --streams and --sources must be positive");
    }
    Ok(a)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Total calls Redis has served (all commands), from `INFO commandstats`.
async fn redis_calls(conn: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await?;
    Ok(info
        .lines()
        .filter_map(|l| l.split("calls=").nth(1))
        .filter_map(|v| v.split(',').next()?.parse::<u64>().ok())
        .sum())
}

/// What one stream saw.
#[derive(Default)]
struct Seen {
    first: bool,
    events: u64,
    /// Admission delivery latency, ms.
    admitted_after_ms: Option<i64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let (admin, rooms) = a.target.connect()?;
    let room = |body: Value| {
        let rooms = rooms.clone();
        async move { rooms.put(a.concert, body).await.map(drop) }
    };
    room(
        json!({"mode": "queue_all", "capacity": 1_000_000, "batch_size": a.batch,
                "tick_ms": a.tick_ms, "active_ttl_secs": TTL_SECS}),
    )
    .await?;

    let total = *a.steps.last().expect("one step at least");
    // Buyers: one join each.
    let user_base = 800_000_000 + (Utc::now().timestamp() % 10_000) * 10_000;
    let tokens: Vec<String> = stream::iter(0..total)
        .map(|i| {
            let client = admin.clone();
            let url = format!("{}/v1/queue/tokens", a.target.base);
            let body = json!({"concert_id": a.concert, "user_id": user_base + i as i64});
            async move {
                let r = client.post(url).json(&body).send().await?;
                let v: Value = r.json().await?;
                v["token"]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("join answered {v}"))
            }
        })
        .buffer_unordered(128)
        .collect::<Vec<anyhow::Result<String>>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;

    let redis = redis::Client::open(a.redis_url.as_str())?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let rss_before = a.gateway_pid.and_then(rss_kib);
    // One client per source address; each stream is one connection of its client.
    let clients: Vec<reqwest::Client> = (1..=a.sources)
        .map(|k| {
            reqwest::Client::builder()
                .local_address(IpAddr::from([127, 0, 0, k]))
                .pool_max_idle_per_host(0)
                .tcp_nodelay(true)
                .build()
        })
        .collect::<Result<_, _>>()?;
    let seen: Arc<Vec<Mutex<Seen>>> =
        Arc::new((0..total).map(|_| Mutex::new(Seen::default())).collect());
    let opened = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    let mut tokens = tokens.into_iter().enumerate();
    let mut steps = Vec::new();
    for &step in &a.steps {
        for (i, token) in tokens.by_ref().take(step - tasks.len()) {
            let client = clients[i % clients.len()].clone();
            let url = format!("{}/v1/queue/events", a.target.base);
            let (seen, opened, refused) = (seen.clone(), opened.clone(), refused.clone());
            tasks.push(tokio::spawn(async move {
                let Ok(r) = client.get(url).bearer_auth(&token).send().await else {
                    refused.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                if !r.status().is_success() {
                    refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                opened.fetch_add(1, Ordering::Relaxed);
                let mut events = SseStream::new(r);
                while let Some(e) = events.next().await {
                    if e.event == ":" {
                        continue;
                    }
                    let now = Utc::now();
                    let body = e.json();
                    let mut s = seen[i].lock().unwrap();
                    s.events += 1;
                    s.first = true;
                    if body["status"] == "active" && s.admitted_after_ms.is_none() {
                        if let Some(expires) = body["expires_at"]
                            .as_str()
                            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                        {
                            let admitted = expires - chrono::Duration::seconds(TTL_SECS);
                            s.admitted_after_ms = Some((now - admitted).num_milliseconds());
                        }
                    }
                }
            }));
            // Open at a steady pace: a connect storm would only measure the accept backlog.
            if i % 500 == 499 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let firsts = seen.iter().filter(|s| s.lock().unwrap().first).count();
            let done = firsts as u64 + refused.load(Ordering::Relaxed);
            if done >= step as u64 {
                break;
            }
            if Instant::now() > deadline {
                bail!("only {firsts} of {step} streams got their first event");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Let allocations settle before reading the RSS.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = a.gateway_pid.and_then(rss_kib);
        // Redis work with these streams open and the room paused.
        let before = redis_calls(&mut conn).await?;
        tokio::time::sleep(Duration::from_secs(a.quiet_secs)).await;
        let after = redis_calls(&mut conn).await?;
        // The two INFO calls themselves count once.
        let per_tick = (after - before).saturating_sub(1) as f64
            / (a.quiet_secs as f64 * 1000.0 / a.tick_ms as f64);
        steps.push(
            json!({"streams": opened.load(Ordering::Relaxed), "rss_kib": rss,
                          "redis_calls_per_tick": per_tick}),
        );
    }
    let open_secs = started.elapsed().as_secs_f64();
    let rss_after = a.gateway_pid.and_then(rss_kib);
    let opened = opened.load(Ordering::Relaxed);

    // Admissions: the room opens; the streams of the first buyers get `active`.
    let want = a.admissions.min(opened as usize);
    room(json!({"mode": "open"})).await?;
    let deadline =
        Instant::now() + Duration::from_secs(60 + want as u64 / a.batch.max(1) * a.tick_ms / 1000);
    loop {
        let admitted = seen
            .iter()
            .filter(|s| s.lock().unwrap().admitted_after_ms.is_some())
            .count();
        if admitted >= want || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    room(json!({"mode": "queue_all"})).await?;
    let mut latencies: Vec<i64> = seen
        .iter()
        .filter_map(|s| s.lock().unwrap().admitted_after_ms)
        .collect();
    latencies.sort_unstable();
    let q = |p: f64| -> Option<i64> {
        (!latencies.is_empty()).then(|| {
            latencies[((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1]
        })
    };
    let bound_ms = a.tick_ms as i64 + 250;
    let within = latencies.iter().filter(|&&l| l <= bound_ms).count();
    let events: u64 = seen.iter().map(|s| s.lock().unwrap().events).sum();
    for t in tasks {
        t.abort();
    }

    let calls: Vec<String> = steps
        .iter()
        .map(|st| {
            format!(
                "{:.1} at {} streams",
                st["redis_calls_per_tick"].as_f64().unwrap_or(0.0),
                st["streams"]
            )
        })
        .collect();
    let per_stream = match (rss_before, rss_after) {
        (Some(b), Some(a)) if opened > 0 => {
            Some((a.saturating_sub(b)) as f64 * 1024.0 / opened as f64)
        }
        _ => None,
    };
    let within_pct =
        (!latencies.is_empty()).then(|| within as f64 * 100.0 / latencies.len() as f64);
    println!(
        "sse {} streams ({} refused) from {} source addresses ({:.0} s in all): gateway RSS \
         {} -> {} KiB, {} bytes per stream; Redis calls per tick with the room paused: {}; \
         {} admissions delivered: p50 {} ms, p99 {} ms, max {} ms after the admission, {} % \
         within one tick + 250 ms ({} ms); {} events",
        opened,
        refused.load(Ordering::Relaxed),
        a.sources,
        open_secs,
        rss_before.map_or("-".into(), |v| v.to_string()),
        rss_after.map_or("-".into(), |v| v.to_string()),
        per_stream.map_or("-".into(), |v| format!("{v:.0}")),
        calls.join(", "),
        latencies.len(),
        q(0.5).map_or("-".into(), |v| v.to_string()),
        q(0.99).map_or("-".into(), |v| v.to_string()),
        q(1.0).map_or("-".into(), |v| v.to_string()),
        within_pct.map_or("-".into(), |v| format!("{v:.1}")),
        bound_ms,
        events,
    );
    println!(
        "{}",
        json!({
            "streams": opened, "refused": refused.load(Ordering::Relaxed),
            "rss_before_kib": rss_before, "rss_after_kib": rss_after,
            "bytes_per_stream": per_stream, "steps": steps,
            "admissions": latencies.len(), "delivery_p50_ms": q(0.5), "delivery_p99_ms": q(0.99),
            "delivery_max_ms": q(1.0), "within_tick_plus_250_pct": within_pct,
            "tick_ms": a.tick_ms, "events": events,
        })
    );
    Ok(())
}
