//! `queue-memory`: how much Redis memory one waiting buyer costs.
//!
//! Joins N buyers (default 1,000,000) to one room through the gateway's own join script
//! (`gateway::line::lua::JOIN`, the room made by `LineStore::put_room`), pipelined so a million
//! joins take seconds, then prints the bytes per waiting buyer two ways: `MEMORY USAGE`
//! (exact, `SAMPLES 0`) summed over every key of the room, and the growth of
//! `used_memory` from `INFO memory`. The target is ≤ 128 bytes per buyer, all keys
//! included. Everything runs under a fresh key prefix that is deleted at the end (unless
//! `--keep`), so it is safe to run against a shared Redis.
//!
//! It must give a figure on a slow, shared machine too (a bench run on 2026-12-07 got none):
//! the redis crate's connections answer within 500 ms by default, and that deadline covers
//! a whole pipeline, which was 10,000 script calls (~0.25 s on an idle machine, more than
//! 0.5 s on a busy one). Here every Redis call may take [`RESPONSE_TIMEOUT`], the joins go
//! in pipelines of [`PIPELINE`], and a call that fails is tried again on a new connection
//! (a join is idempotent: a buyer already in line keeps the place). When it still fails,
//! the error names the step, the attempts and the last cause, and the keys made so far are
//! deleted.
//!
//! Usage: `queue-memory [--buyers N] [--redis URL] [--keep]` (also `REDIS_URL`).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gateway::line::{lua, LineStore};
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use shared::config::RedisSettings;
use shared::store::{Keys, RoomSettings};
use testkit::tools::read_options;

const CONCERT_ID: i64 = 1;
/// Script calls per pipeline: ~25 ms of Redis time each on an idle machine.
const PIPELINE: usize = 1_000;
const TARGET_BYTES: f64 = 128.0;
/// How long one call (a whole pipeline) may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries per call; the waits between them double from [`FIRST_RETRY_WAIT`].
const ATTEMPTS: u32 = 4;
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(500);

const USAGE: &str = "usage: queue-memory [--buyers N] [--redis URL] [--keep]";

struct Args {
    buyers: u64,
    redis_url: String,
    keep: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        buyers: 1_000_000,
        redis_url: testkit::redis_url(),
        keep: false,
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--buyers" => {
                parsed.buyers = cli
                    .value(option)?
                    .replace('_', "")
                    .parse()
                    .context("--buyers needs a number")?
            }
            "--redis" => parsed.redis_url = cli.value(option)?,
            "--keep" => parsed.keep = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if parsed.buyers < 2 {
        bail!("--buyers must be at least 2");
    }
    Ok(parsed)
}

/// The tool's Redis: one multiplexed connection with patient timeouts, made anew after a
/// failed call.
struct Redis {
    url: String,
    conn: MultiplexedConnection,
}

impl Redis {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            url: url.to_owned(),
            conn: connection(url).await?,
        })
    }

    /// Runs `call` on the connection, up to [`ATTEMPTS`] times; `what` names the step in
    /// the error.
    async fn run<T, F, Fut>(&mut self, what: &str, call: F) -> anyhow::Result<T>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let mut wait = FIRST_RETRY_WAIT;
        let mut attempt = 1;
        loop {
            let error = match call(self.conn.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if attempt == ATTEMPTS {
                return Err(error).with_context(|| {
                    format!(
                        "{what}: failed {ATTEMPTS} times (each call may take {} s)",
                        RESPONSE_TIMEOUT.as_secs()
                    )
                });
            }
            eprintln!("{what}: attempt {attempt} failed ({error}); again in {wait:?}");
            tokio::time::sleep(wait).await;
            wait *= 2;
            attempt += 1;
            // A call that timed out may still be running on the old connection.
            if let Ok(conn) = connection(&self.url).await {
                self.conn = conn;
            }
        }
    }

    async fn used_memory(&mut self) -> anyhow::Result<i64> {
        let info: String = self
            .run("INFO memory", |mut c| async move {
                redis::cmd("INFO").arg("memory").query_async(&mut c).await
            })
            .await?;
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .context("INFO memory has no used_memory")
    }
}

async fn connection(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .with_context(|| format!("connecting to {url}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let mut redis = Redis::connect(&args.redis_url).await?;
    let keys = Keys::new(format!("qm-{}:", uuid::Uuid::new_v4().simple()));
    let mut all_keys = keys.line(CONCERT_ID).to_vec();
    all_keys.push(keys.rooms());

    let measured = measure(&args, &mut redis, &keys, &all_keys).await;
    if args.keep {
        println!("keys kept under prefix {}", keys.prefix());
    } else {
        let unlinked = redis
            .run("UNLINK of the keys", |mut c| {
                let all_keys = all_keys.clone();
                async move {
                    redis::cmd("UNLINK")
                        .arg(&all_keys[..])
                        .exec_async(&mut c)
                        .await
                }
            })
            .await;
        if let Err(e) = unlinked {
            eprintln!("keys under prefix {} left in Redis: {e:#}", keys.prefix());
        }
    }
    let within = measured?;
    if !within {
        std::process::exit(1);
    }
    Ok(())
}

/// Joins the buyers, prints the figures; whether they are within the target.
async fn measure(
    args: &Args,
    redis: &mut Redis,
    keys: &Keys,
    all_keys: &[String],
) -> anyhow::Result<bool> {
    let queue_keys = keys.line(CONCERT_ID);
    // The room as the gateway creates it; capacity 1 so every buyer but the first waits.
    let store = LineStore::new(
        &RedisSettings {
            url: args.redis_url.clone(),
            cluster_urls: None,
            key_prefix: keys.prefix().to_owned(),
            timeout_ms: RESPONSE_TIMEOUT.as_millis() as u64,
            connections: 1,
        },
        "queue-memory",
    )?;
    let room = RoomSettings {
        capacity: 1,
        batch_size: 100,
        tick_ms: 1000,
        active_ttl_secs: 600,
        mode: shared::store::RoomMode::Open,
        opens_at: None,
        prequeue_secs: 900,
        waitlist: true,
    };
    store
        .put_room(CONCERT_ID, &room, None, 0)
        .await
        .context("creating the room")?;

    let sha: String = redis
        .run("SCRIPT LOAD of join.lua", |mut c| async move {
            redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(lua::JOIN)
                .query_async(&mut c)
                .await
        })
        .await?;
    let before = redis.used_memory().await?;

    println!(
        "joining {} buyers under prefix {} ...",
        args.buyers,
        keys.prefix()
    );
    let started = Instant::now();
    let mut first: u64 = 1;
    while first <= args.buyers {
        let last = (first + PIPELINE as u64 - 1).min(args.buyers);
        let mut pipe = redis::pipe();
        for user in first..=last {
            pipe.cmd("EVALSHA")
                .arg(&sha)
                .arg(queue_keys.len())
                .arg(&queue_keys[..])
                .arg(user)
                .ignore();
        }
        redis
            .run(&format!("joining buyers {first}..{last}"), |mut c| {
                let pipe = pipe.clone();
                async move { pipe.exec_async(&mut c).await }
            })
            .await?;
        first = last + 1;
    }
    let elapsed = started.elapsed();

    let after = redis.used_memory().await?;
    let waiting_key = keys.waiting(CONCERT_ID);
    let waiting: u64 = redis
        .run("ZCARD of the line", |mut c| {
            let key = waiting_key.clone();
            async move { redis::cmd("ZCARD").arg(key).query_async(&mut c).await }
        })
        .await?;
    let mut key_bytes: i64 = 0;
    println!("{:<60} {:>12}", "key", "bytes");
    for key in all_keys {
        let bytes: Option<i64> = redis
            .run(&format!("MEMORY USAGE {key}"), |mut c| {
                let key = key.clone();
                async move {
                    redis::cmd("MEMORY")
                        .arg("USAGE")
                        .arg(key)
                        .arg("SAMPLES")
                        .arg(0)
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        let bytes = bytes.unwrap_or(0);
        key_bytes += bytes;
        println!("{key:<60} {bytes:>12}");
    }
    let per_key = key_bytes as f64 / waiting as f64;
    let per_info = (after - before) as f64 / waiting as f64;
    println!(
        "joined {} buyers in {:.1} s ({:.0} joins/s); {} waiting",
        args.buyers,
        elapsed.as_secs_f64(),
        args.buyers as f64 / elapsed.as_secs_f64(),
        waiting
    );
    println!("bytes per waiting buyer, MEMORY USAGE of all keys: {per_key:.1}");
    println!("bytes per waiting buyer, INFO used_memory growth:  {per_info:.1}");
    let within = per_key.max(per_info) <= TARGET_BYTES;
    println!(
        "target <= {TARGET_BYTES} bytes: {}",
        if within { "within" } else { "OVER" }
    );
    Ok(within)
}
