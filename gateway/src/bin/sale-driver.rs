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
//! a line, and lets each buyer loop: charge, join, poll until admitted, hold a free seat,
//! pay (the same `Idempotency-Key` on every retry), then join again for the next seat. 503s
//! and refused connections are retried after a short pause; a refused connection moves the
//! buyer to the next gateway (what a load balancer does). Each answer is one line of
//! `calls.tsv`: start (Unix ms), latency (ms), status (0 = connection failed),
//! Retry-After present (0/1), kind, gateway index.
//!
//! `report` prints, for the calls started in `[from, to)`: 503s, 500s, 503s without
//! `Retry-After`, max latency; and the seconds from `to` to the first success of a call of
//! one of `kinds` (recovery).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn need(args: &[String], name: &str) -> anyhow::Result<String> {
    arg(args, name).with_context(|| format!("missing {name}"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
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

#[derive(Clone)]
struct Ctx {
    client: reqwest::Client,
    gateways: Arc<Vec<String>>,
    log: Arc<Mutex<std::io::BufWriter<std::fs::File>>>,
    stop: Arc<AtomicBool>,
    paid: Arc<AtomicU64>,
}

enum Answer {
    Got(StatusCode, Value),
    Refused,
}

impl Ctx {
    // One flat call shape for every buyer step reads better than a request builder here.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        home: &mut usize,
        kind: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let gateway = *home % self.gateways.len();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.gateways[gateway]));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = now_ms();
        let clock = Instant::now();
        let result = request.send().await;
        let (status, retry_after, answer) = match result {
            Ok(response) => {
                let status = response.status();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                (status.as_u16(), retry_after, Answer::Got(status, body))
            }
            Err(_) => {
                // The instance is gone: the next call goes to another one.
                *home += 1;
                (0, false, Answer::Refused)
            }
        };
        let latency = clock.elapsed().as_millis();
        if let Ok(mut log) = self.log.lock() {
            let _ = writeln!(
                log,
                "{started}\t{latency}\t{status}\t{}\t{kind}\t{gateway}",
                u8::from(retry_after)
            );
        }
        answer
    }

    async fn pause() {
        let ms = rand::rng().random_range(50..150);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// One buyer, buying seat after seat until told to stop.
    async fn buyer(self, user: i64, concert: i64, schedule: i64, mut home: usize) {
        let charge_key = format!("fault-charge-{user}-{}", now_ms());
        while !self.stop.load(Ordering::Relaxed) {
            match self
                .send(
                    &mut home,
                    "charge",
                    Method::POST,
                    &format!("/v1/users/{user}/points/charge"),
                    None,
                    Some(&charge_key),
                    Some(json!({"amount": 10_000_000})),
                )
                .await
            {
                Answer::Got(StatusCode::OK, _) => break,
                _ => Self::pause().await,
            }
        }
        let mut token: Option<String> = None;
        let mut admitted = false;
        let mut held: Option<String> = None;
        let mut pay_key = uuid::Uuid::new_v4().to_string();
        while !self.stop.load(Ordering::Relaxed) {
            let Some(t) = token.clone() else {
                match self
                    .send(
                        &mut home,
                        "join",
                        Method::POST,
                        "/v1/queue/tokens",
                        None,
                        None,
                        Some(json!({"concert_id": concert, "user_id": user})),
                    )
                    .await
                {
                    Answer::Got(s, body) if s.is_success() => {
                        token = body["token"].as_str().map(str::to_owned);
                        admitted = body["status"] == "active";
                    }
                    _ => Self::pause().await,
                }
                continue;
            };
            if !admitted {
                match self
                    .send(
                        &mut home,
                        "status",
                        Method::GET,
                        "/v1/queue/status",
                        Some(&t),
                        None,
                        None,
                    )
                    .await
                {
                    Answer::Got(StatusCode::OK, body) => {
                        if let Some(fresh) = body["token"].as_str() {
                            token = Some(fresh.to_owned());
                        }
                        admitted = body["status"] == "active";
                        if !admitted {
                            let ms = body["poll_after_ms"].as_u64().unwrap_or(200).clamp(50, 500);
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                        }
                    }
                    Answer::Got(StatusCode::GONE, _) => token = None,
                    _ => Self::pause().await,
                }
                continue;
            }
            let answer = if let Some(reservation) = held.clone() {
                let answer = self
                    .send(
                        &mut home,
                        "pay",
                        Method::POST,
                        "/v1/payments",
                        Some(&t),
                        Some(&pay_key),
                        Some(json!({"reservation_ids": [reservation]})),
                    )
                    .await;
                match answer {
                    Answer::Got(StatusCode::CREATED, _) => {
                        self.paid.fetch_add(1, Ordering::Relaxed);
                        // The admission ended with the payment: join again for another seat.
                        held = None;
                        pay_key = uuid::Uuid::new_v4().to_string();
                        token = None;
                        admitted = false;
                        continue;
                    }
                    Answer::Got(StatusCode::CONFLICT, _) => {
                        held = None;
                        pay_key = uuid::Uuid::new_v4().to_string();
                        continue;
                    }
                    other => other,
                }
            } else {
                let seat_no = rand::rng().random_range(1..=10_000);
                let answer = self
                    .send(
                        &mut home,
                        "hold",
                        Method::POST,
                        "/v1/reservations",
                        Some(&t),
                        None,
                        Some(json!({"schedule_id": schedule, "seat_no": seat_no})),
                    )
                    .await;
                match answer {
                    Answer::Got(StatusCode::CREATED, body) => {
                        held = body["reservation_id"].as_str().map(str::to_owned);
                        continue;
                    }
                    Answer::Got(StatusCode::CONFLICT, _) => continue,
                    other => other,
                }
            };
            match answer {
                Answer::Got(StatusCode::GONE | StatusCode::UNAUTHORIZED, _) => {
                    token = None;
                    admitted = false;
                }
                Answer::Got(StatusCode::FORBIDDEN, _) => admitted = false,
                _ => Self::pause().await,
            }
        }
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
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(512)
        .build()?;

    // A concert of our own: one schedule of 10,000 seats, 100 points each.
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let created: Value = client
        .post(format!("{booking}/admin/concerts"))
        .bearer_auth(&admin)
        .json(&json!({"title": "Fault drill", "schedules": [{"starts_at": starts, "seats": 10_000, "price": 100}]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let concert = created["concert_id"].as_i64().context("concert_id")?;
    let schedule = created["schedule_ids"][0].as_i64().context("schedule_id")?;
    // A small room, so there is always a line and admission order matters.
    client
        .put(format!("{}/admin/rooms/{concert}", gateways[0]))
        .bearer_auth(&admin)
        .json(&json!({"capacity": 40, "batch_size": 20, "tick_ms": 200, "active_ttl_secs": 60}))
        .send()
        .await?
        .error_for_status()?;
    eprintln!("sale-driver: concert {concert}, schedule {schedule}, {buyers} buyers, {secs}s");

    let ctx = Ctx {
        client,
        gateways: Arc::new(gateways),
        log: Arc::new(Mutex::new(std::io::BufWriter::new(std::fs::File::create(
            &out,
        )?))),
        stop: Arc::new(AtomicBool::new(false)),
        paid: Arc::new(AtomicU64::new(0)),
    };
    let tasks: Vec<_> = (0..buyers)
        .map(|i| {
            let user = 5_000_000 + concert * 100_000 + i;
            tokio::spawn(ctx.clone().buyer(user, concert, schedule, i as usize))
        })
        .collect();
    if let Some(ready) = arg(args, "--ready") {
        std::fs::write(ready, format!("{concert} {schedule}\n"))?;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    ctx.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(40), task).await;
    }
    ctx.log
        .lock()
        .map_err(|_| anyhow::anyhow!("log lock"))?
        .flush()?;
    println!("paid {}", ctx.paid.load(Ordering::Relaxed));
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
