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
//! Usage: `queue-memory [--buyers N] [--redis URL] [--keep]` (also `REDIS_URL`).

use std::time::Instant;

use anyhow::{bail, Context};
use gateway::line::{lua, LineStore};
use redis::aio::MultiplexedConnection;
use shared::config::RedisSettings;
use shared::store::{Keys, RoomSettings};
use testkit::tools::{read_options, redis_conn};

const CONCERT_ID: i64 = 1;
const PIPELINE: usize = 10_000;
const TARGET_BYTES: f64 = 128.0;

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

async fn used_memory(conn: &mut MultiplexedConnection) -> anyhow::Result<i64> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO memory has no used_memory")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let mut conn = redis_conn(&args.redis_url).await?;
    let prefix = format!("qm-{}:", uuid::Uuid::new_v4().simple());
    let keys = Keys::new(prefix.clone());
    let queue_keys = keys.line(CONCERT_ID);
    let mut all_keys = queue_keys.to_vec();
    all_keys.push(keys.rooms());

    // The room as the gateway creates it; capacity 1 so every buyer but the first waits.
    let store = LineStore::new(
        &RedisSettings {
            url: args.redis_url.clone(),
            cluster_urls: None,
            key_prefix: prefix,
            timeout_ms: 10_000,
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
    };
    store.put_room(CONCERT_ID, &room, None, 0).await?;

    let script = redis::Script::new(lua::JOIN);
    let sha: String = script.prepare_invoke().load_async(&mut conn).await?;
    let before = used_memory(&mut conn).await?;

    println!(
        "joining {} buyers under prefix {} ...",
        args.buyers,
        keys.prefix()
    );
    let started = Instant::now();
    let mut user: u64 = 0;
    while user < args.buyers {
        let mut pipe = redis::pipe();
        for _ in 0..PIPELINE.min((args.buyers - user) as usize) {
            user += 1;
            pipe.cmd("EVALSHA")
                .arg(&sha)
                .arg(queue_keys.len())
                .arg(&queue_keys[..])
                .arg(user)
                .ignore();
        }
        pipe.exec_async(&mut conn).await?;
    }
    let elapsed = started.elapsed();

    let after = used_memory(&mut conn).await?;
    let waiting: u64 = redis::cmd("ZCARD")
        .arg(keys.waiting(CONCERT_ID))
        .query_async(&mut conn)
        .await?;
    let mut key_bytes: i64 = 0;
    println!("{:<60} {:>12}", "key", "bytes");
    for key in &all_keys {
        let bytes: Option<i64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut conn)
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
    let verdict = if per_key.max(per_info) <= TARGET_BYTES {
        "within"
    } else {
        "OVER"
    };
    println!("target <= {TARGET_BYTES} bytes: {verdict}");

    if args.keep {
        println!("keys kept under prefix {}", keys.prefix());
    } else {
        redis::cmd("UNLINK")
            .arg(&all_keys[..])
            .exec_async(&mut conn)
            .await?;
    }
    if verdict == "OVER" {
        std::process::exit(1);
    }
    Ok(())
}
