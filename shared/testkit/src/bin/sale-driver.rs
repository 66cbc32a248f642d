//! A concurrent sale for `scripts/faults`: many buyers through the gateways, every answer
//! recorded, so the script can inject faults (kill -9 Redis, stop PostgreSQL, kill a
//! gateway, kill booking) and then ask what buyers saw in each fault's window.
//!
//! ```text
//! sale-driver run --gateways URL[,URL] --booking URL --admin TOKEN --buyers N
//!                 --secs S --out calls.tsv [--ready FILE]
//! sale-driver report --calls calls.tsv --from MS --to MS --kinds join,status,...
//! ```
//!
//! `run` creates its own concert (one big schedule), sets a small room so there is always
//! a line, and lets each buyer run the test kit's buyer loop ([`testkit::buyer`]) again and
//! again: charge, join, poll until admitted, hold a random seat, pay (the same
//! `Idempotency-Key` on every retry), then join again for the next seat. 503s and refused
//! connections are retried after a short pause; a refused connection moves the buyer to the
//! next gateway (what a load balancer does). Each answer is one line of
//! `calls.tsv`: start (Unix ms), latency (ms), status (0 = connection failed),
//! Retry-After present (0/1), kind, gateway index.
//!
//! `report` prints, for the calls started in `[from, to)`: 503s, 500s, 503s without
//! `Retry-After`, max latency; and the seconds from `to` to the first success of a call of
//! one of `kinds` (recovery).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use testkit::buyer::{Client, Journey, Outcome, Seats};

/// Seats of the drill's one schedule.
const SEATS: i64 = 10_000;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn need(args: &[String], name: &str) -> anyhow::Result<String> {
    arg(args, name).with_context(|| format!("missing {name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("run") => run(&args).await,
        Some("report") => report(&args),
        _ => bail!("usage: sale-driver run|report ... (see the source's header)"),
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let gateways: Vec<String> = need(args, "--gateways")?
        .split(',')
        .map(|s| s.trim_end_matches('/').to_owned())
        .collect();
    let booking = need(args, "--booking")?;
    let admin = need(args, "--admin")?;
    let buyers: i64 = need(args, "--buyers")?.parse()?;
    let secs: u64 = need(args, "--secs")?.parse()?;
    let out = need(args, "--out")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(512)
        .build()?;

    // A concert of our own: one schedule of 10,000 seats, 100 points each.
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let created: Value = http
        .post(format!("{booking}/admin/concerts"))
        .bearer_auth(&admin)
        .json(&json!({"title": "Fault drill", "schedules": [{"starts_at": starts, "seats": SEATS, "price": 100}]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let concert = created["concert_id"].as_i64().context("concert_id")?;
    let schedule = created["schedule_ids"][0].as_i64().context("schedule_id")?;
    // A small room, so there is always a line and admission order matters.
    http.put(format!("{}/admin/rooms/{concert}", gateways[0]))
        .bearer_auth(&admin)
        .json(&json!({"capacity": 40, "batch_size": 20, "tick_ms": 200, "active_ttl_secs": 60}))
        .send()
        .await?
        .error_for_status()?;
    eprintln!("sale-driver: concert {concert}, schedule {schedule}, {buyers} buyers, {secs}s");

    let log = Arc::new(Mutex::new(std::io::BufWriter::new(std::fs::File::create(
        &out,
    )?)));
    let writer = log.clone();
    let client = Client::new(http, gateways, move |call| {
        if let Ok(mut log) = writer.lock() {
            let _ = writeln!(
                log,
                "{}\t{}\t{}\t{}\t{}\t{}",
                call.started_unix_ms,
                call.latency.as_millis(),
                call.status,
                u8::from(call.retry_after),
                call.what,
                call.gateway
            );
        }
    })
    .with_failover(Duration::from_millis(500));
    let stop = Arc::new(AtomicBool::new(false));
    let paid = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs + 3600);
    let tasks: Vec<_> = (0..buyers)
        .map(|i| {
            let mut buyer = client.buyer(i as usize);
            let (stop, paid) = (stop.clone(), paid.clone());
            let journey = Journey {
                concert_id: concert,
                schedule_id: schedule,
                user_id: 5_000_000 + concert * 100_000 + i,
                seats: Seats::Random { seats: SEATS },
                // Every other buyer buys a pair as one order (best available ×2).
                pair: i % 2 == 1,
            };
            tokio::spawn(async move {
                if !buyer
                    .charge(journey.user_id, 10_000_000, until, &stop)
                    .await
                {
                    return;
                }
                // Seat after seat until told to stop; each payment ends the admission, so
                // the next journey joins again.
                while !stop.load(Ordering::SeqCst) {
                    if let Outcome::Paid { .. } = buyer.buy(journey, until, &stop, || {}).await {
                        paid.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    if let Some(ready) = arg(args, "--ready") {
        std::fs::write(ready, format!("{concert} {schedule}\n"))?;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(40), task).await;
    }
    log.lock()
        .map_err(|_| anyhow::anyhow!("log lock"))?
        .flush()?;
    println!("paid {}", paid.load(Ordering::Relaxed));
    Ok(())
}

struct Line {
    start: u64,
    latency: u64,
    status: u16,
    retry_after: bool,
    kind: String,
}

fn report(args: &[String]) -> anyhow::Result<()> {
    let calls = std::fs::read_to_string(need(args, "--calls")?)?;
    let from: u64 = need(args, "--from")?.parse()?;
    let to: u64 = need(args, "--to")?.parse()?;
    let kinds: Vec<String> = need(args, "--kinds")?
        .split(',')
        .map(str::to_owned)
        .collect();
    let lines: Vec<Line> = calls
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Line {
                start: f.first()?.parse().ok()?,
                latency: f.get(1)?.parse().ok()?,
                status: f.get(2)?.parse().ok()?,
                retry_after: *f.get(3)? == "1",
                kind: (*f.get(4)?).to_owned(),
            })
        })
        .collect();
    let window: Vec<&Line> = lines
        .iter()
        .filter(|l| l.start >= from && l.start < to)
        .collect();
    let unavailable = window.iter().filter(|l| l.status == 503).count();
    let no_retry_after = window
        .iter()
        .filter(|l| l.status == 503 && !l.retry_after)
        .count();
    let errors_500 = window.iter().filter(|l| l.status == 500).count();
    let other_5xx = window
        .iter()
        .filter(|l| l.status > 500 && l.status != 503)
        .count();
    let refused = window.iter().filter(|l| l.status == 0).count();
    let max_latency = window.iter().map(|l| l.latency).max().unwrap_or(0);
    let recovery = lines
        .iter()
        .filter(|l| l.start >= to && (200..300).contains(&l.status) && kinds.contains(&l.kind))
        .map(|l| l.start + l.latency - to)
        .min();
    let total_500 = lines.iter().filter(|l| l.status == 500).count();
    println!(
        "calls={} answered_503={unavailable} no_retry_after={no_retry_after} errors_500={errors_500} \
         other_5xx={other_5xx} refused={refused} max_latency_ms={max_latency} recovery_secs={} \
         total_500={total_500}",
        window.len(),
        recovery.map_or("never".to_owned(), |ms| format!("{:.2}", ms as f64 / 1000.0)),
    );
    Ok(())
}
