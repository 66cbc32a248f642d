//! `draw-bench`: how long the opening draw of a large pre-queue takes, and whether it
//! stalls Redis for the other concerts while it runs.
//!
//! For each size (default 10,000, 100,000 and 1,000,000 entries): a room whose opening has
//! just passed, a pre-queue of that many buyers (written straight to Redis, pipelined), and
//! the gateway's own draw ([`gateway::admission::draw::run`]: freeze, read in chunks, order
//! by the seed, write in chunks). Meanwhile a probe keeps joining buyers to ANOTHER
//! concert's line through the join script, one call at a time, as that concert's buyers
//! would. Printed per size: the draw's time, its Redis calls, its longest call as the
//! drawer saw it, the longest single command Redis itself executed during the draw (its
//! SLOWLOG, threshold 1 ms, so a slow call cannot hide in the client's view), and the
//! probe's join latency (p50 / p99 / max) during the draw next to the same probe just
//! before it.
//!
//! Everything runs under a fresh key prefix that is deleted at the end; the slowlog
//! threshold is restored. Usage: `draw-bench [--entries 10000,100000,1000000] [--redis URL]`
//! (also `REDIS_URL`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use gateway::line::LineStore;
use redis::aio::MultiplexedConnection;
use shared::config::RedisSettings;
use shared::store::{Keys, RoomMode, RoomSettings};
use testkit::tools::{read_options, redis_conn};

const DRAWN: i64 = 1;
const PROBE: i64 = 2;
const PIPELINE: usize = 10_000;

const USAGE: &str = "usage: draw-bench [--entries 10000,100000,1000000] [--redis URL]";

struct Args {
    sizes: Vec<u64>,
    redis_url: String,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        sizes: vec![10_000, 100_000, 1_000_000],
        redis_url: testkit::redis_url(),
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--entries" => {
                parsed.sizes = cli
                    .value(option)?
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()
                    .context("--entries needs comma-separated numbers")?
            }
            "--redis" => parsed.redis_url = cli.value(option)?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(parsed)
}

fn room(opens_in_ms: i64) -> RoomSettings {
    RoomSettings {
        capacity: 1_000_000,
        batch_size: 100,
        tick_ms: 1_000,
        active_ttl_secs: 600,
        mode: RoomMode::QueueAll,
        opens_at: Some(Utc::now() + chrono::Duration::milliseconds(opens_in_ms)),
        prequeue_secs: 3_600,
        waitlist: true,
    }
}

/// Join latencies of the probe concert, in microseconds, sorted.
struct Probe {
    samples: Vec<u64>,
}

impl Probe {
    fn quantile(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let i = ((q * self.samples.len() as f64).ceil() as usize).clamp(1, self.samples.len());
        self.samples[i - 1] as f64 / 1000.0
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} joins)",
            self.quantile(0.5),
            self.quantile(0.99),
            self.quantile(1.0),
            self.samples.len()
        )
    }
}

/// Joins new buyers to the probe concert one call at a time until `stop`.
async fn probe(store: LineStore, stop: Arc<AtomicBool>, first_user: i64) -> Probe {
    let mut samples = Vec::new();
    let mut user = first_user;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let _ = store.join(PROBE, user).await;
        samples.push(started.elapsed().as_micros() as u64);
        user += 1;
    }
    samples.sort_unstable();
    Probe { samples }
}

async fn slowlog_max_us(conn: &mut MultiplexedConnection) -> anyhow::Result<(u64, String)> {
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1_000)
        .query_async(conn)
        .await?;
    let mut longest = (0u64, String::new());
    for entry in entries {
        let redis::Value::Array(fields) = entry else {
            continue;
        };
        let micros = match fields.get(2) {
            Some(redis::Value::Int(us)) => *us as u64,
            _ => continue,
        };
        if micros > longest.0 {
            let command = match fields.get(3) {
                Some(redis::Value::Array(args)) => args
                    .iter()
                    .take(1)
                    .map(|a| match a {
                        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            longest = (micros, command);
        }
    }
    Ok(longest)
}

async fn one(
    store: &LineStore,
    conn: &mut MultiplexedConnection,
    keys: &Keys,
    entries: u64,
) -> anyhow::Result<()> {
    // The room, its seed, and a pre-queue of `entries` buyers (written directly).
    let seed = shared::draw::new_seed();
    store
        .put_room(DRAWN, &room(3_600_000), Some(&seed), 1)
        .await?;
    let probe_room = RoomSettings {
        opens_at: None,
        mode: RoomMode::Open,
        ..room(0)
    };
    store.put_room(PROBE, &probe_room, None, 0).await?;
    let now_ms = Utc::now().timestamp_millis();
    let mut user = 1u64;
    while user <= entries {
        let mut pipe = redis::pipe();
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(keys.prequeue(DRAWN));
        for _ in 0..PIPELINE {
            if user > entries {
                break;
            }
            zadd.arg(now_ms).arg(user);
            user += 1;
        }
        pipe.add_command(zadd).ignore();
        pipe.query_async::<()>(conn).await?;
    }
    // The opening passes now (a newer version of the settings, the same seed).
    store.put_room(DRAWN, &room(-1), Some(&seed), 2).await?;

    // The probe before the draw, for as long as the draw will take (estimated after).
    let run_probe = |millis: u64, first_user: i64| {
        let store = store.clone();
        async move {
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(probe(store, stop.clone(), first_user));
            tokio::time::sleep(Duration::from_millis(millis)).await;
            stop.store(true, Ordering::Relaxed);
            task.await.expect("the probe runs")
        }
    };
    let before = run_probe(1_000, 1).await;

    let _: () = redis::cmd("SLOWLOG").arg("RESET").query_async(conn).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let during_task = tokio::spawn(probe(store.clone(), stop.clone(), 10_000_000));
    let started = Instant::now();
    let report = gateway::admission::draw::run(store, DRAWN, "draw-bench").await?;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = during_task.await?;
    let (server_max_us, server_cmd) = slowlog_max_us(conn).await?;

    let placed: u64 = redis::cmd("ZCARD")
        .arg(keys.waiting(DRAWN))
        .query_async(conn)
        .await?;
    if report.outcome != gateway::admission::draw::Outcome::Drawn || placed != entries {
        bail!(
            "the draw of {entries} ended {:?} with {placed} placed",
            report.outcome
        );
    }
    println!(
        "draw {entries} entries: {:.3} s, {} Redis calls, longest call seen by the drawer \
         {:.2} ms, longest command in Redis {:.2} ms ({}); other concert's joins during the \
         draw: {}; before it: {}",
        elapsed.as_secs_f64(),
        report.redis_calls,
        report.longest_call.as_secs_f64() * 1000.0,
        server_max_us as f64 / 1000.0,
        if server_cmd.is_empty() {
            "none over 1 ms".to_string()
        } else {
            server_cmd
        },
        during.line(),
        before.line(),
    );
    Ok(())
}

async fn delete_prefix(conn: &mut MultiplexedConnection, prefix: &str) -> anyhow::Result<()> {
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1_000)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK").arg(&keys).query_async(conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let mut conn = redis_conn(&args.redis_url).await?;
    let threshold: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("slowlog-log-slower-than")
        .query_async(&mut conn)
        .await?;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(1_000)
        .query_async(&mut conn)
        .await?;
    let mut result = Ok(());
    for &entries in &args.sizes {
        let prefix = format!("db-{}:", uuid::Uuid::new_v4().simple());
        let keys = Keys::new(prefix.clone());
        let store = LineStore::new(
            &RedisSettings {
                url: args.redis_url.clone(),
                cluster_urls: None,
                key_prefix: prefix.clone(),
                timeout_ms: 10_000,
                connections: 2,
            },
            "draw-bench",
        )?;
        result = one(&store, &mut conn, &keys, entries).await;
        delete_prefix(&mut conn, &prefix).await?;
        if result.is_err() {
            break;
        }
    }
    if let Some(old) = threshold.get(1) {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("slowlog-log-slower-than")
            .arg(old)
            .query_async(&mut conn)
            .await?;
    }
    result
}
