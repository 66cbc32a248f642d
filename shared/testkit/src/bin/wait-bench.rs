//! `wait-bench`: a sale whose buyers wait by polling or on push streams, and what waiting
//! costs the gateways: requests per buyer per minute of waiting.
//!
//! Buyers arrive at `--arrivals-per-sec` (twice the admission rate by default, so a line
//! builds up); each charges points, joins, waits until admitted — `--mode poll`: calls
//! `GET /v1/queue/status` after every `poll_after_ms` the gateway advises, as the buyer's
//! page does without push; `--mode sse`: one `GET /v1/queue/events` stream, reopened only
//! if it breaks — then lists the schedules, holds a free seat (another on 409) and pays.
//! Counted while waiting: the requests made from the join's answer to the admission, and
//! the time. Prints a summary and a JSON line.
//!
//! Usage: `wait-bench --concert ID --mode poll|sse [--base URL] [--ops URL]
//! [--admin-token T] [--buyers 600] [--rate-per-minute 1200] [--arrivals-per-sec 40]`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use testkit::http::buyer_request;
use testkit::sse::SseStream;
use testkit::tools::{read_options, Target};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Poll,
    Sse,
}

const USAGE: &str = "see the module docs of shared/testkit/src/bin/wait-bench.rs";

struct Args {
    concert: i64,
    mode: Mode,
    target: Target,
    buyers: u64,
    rate_per_minute: u64,
    arrivals_per_sec: f64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        concert: 0,
        mode: Mode::Poll,
        target: Target::default(),
        buyers: 600,
        rate_per_minute: 1_200,
        arrivals_per_sec: 40.0,
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--concert" => a.concert = cli.parsed(option)?,
            "--mode" => {
                a.mode = match cli.value(option)?.as_str() {
                    "poll" => Mode::Poll,
                    "sse" => Mode::Sse,
                    other => bail!("--mode poll|sse, not {other}"),
                }
            }
            "--buyers" => a.buyers = cli.parsed(option)?,
            "--rate-per-minute" => a.rate_per_minute = cli.parsed(option)?,
            "--arrivals-per-sec" => a.arrivals_per_sec = cli.parsed(option)?,
            _ => return a.target.take(option, cli),
        }
        Ok(true)
    })?;
    if a.concert <= 0 {
        bail!("--concert is required");
    }
    Ok(a)
}

#[derive(Default)]
struct Totals {
    wait_requests: AtomicU64,
    wait_ms: AtomicU64,
    paid: AtomicU64,
    failed: AtomicU64,
}

struct Buyer<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    concert: i64,
    user: i64,
}

impl Buyer<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let r = buyer_request(
            self.http,
            self.base,
            method,
            path,
            token,
            body.as_ref(),
            true,
        );
        let response = r.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until admitted; returns the active token, the requests made and the time.
    async fn wait(&self, mode: Mode, mut view: Value) -> anyhow::Result<(String, u64, Duration)> {
        let started = Instant::now();
        let mut requests = 0;
        let mut token = view["token"].as_str().context("a token")?.to_owned();
        while view["status"] != "active" {
            match mode {
                Mode::Poll => {
                    let after = view["poll_after_ms"].as_u64().unwrap_or(1_000);
                    tokio::time::sleep(Duration::from_millis(after)).await;
                    requests += 1;
                    let (status, v) = self
                        .call(reqwest::Method::GET, "/v1/queue/status", Some(&token), None)
                        .await?;
                    if status != 200 {
                        bail!("status answered {status}: {v}");
                    }
                    view = v;
                }
                Mode::Sse => {
                    requests += 1;
                    let response = self
                        .http
                        .get(format!("{}/v1/queue/events", self.base))
                        .bearer_auth(&token)
                        .timeout(Duration::from_secs(600))
                        .send()
                        .await?;
                    if !response.status().is_success() {
                        // The cap: wait as a polling client would, then try again.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    let mut events = SseStream::new(response);
                    while let Some(e) = events.next().await {
                        if e.event == "status" {
                            view = e.json();
                            if view["status"] == "active" {
                                break;
                            }
                        } else if e.event == "gone" {
                            bail!("gone while waiting: {}", e.data);
                        }
                    }
                }
            }
            if let Some(t) = view["token"].as_str() {
                token = t.to_owned();
            }
        }
        Ok((token, requests, started.elapsed()))
    }

    async fn buy(&self, token: &str) -> anyhow::Result<()> {
        let (_, schedules) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/concerts/{}/schedules", self.concert),
                Some(token),
                None,
            )
            .await?;
        let schedule = schedules[0]["schedule_id"].as_i64().context("a schedule")?;
        for _ in 0..10 {
            let (_, map) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/schedules/{schedule}/seats"),
                    Some(token),
                    None,
                )
                .await?;
            let free: Vec<i64> = map["seats"]
                .as_array()
                .context("a seat map")?
                .iter()
                .filter(|s| s["status"] == "AVAILABLE")
                .filter_map(|s| s["seat_no"].as_i64())
                .collect();
            let Some(&seat) = free.get((self.user as usize) % free.len().max(1)) else {
                bail!("no seat left");
            };
            let (status, held) = self
                .call(
                    reqwest::Method::POST,
                    "/v1/reservations",
                    Some(token),
                    Some(json!({"schedule_id": schedule, "seat_no": seat})),
                )
                .await?;
            if status == 409 {
                continue;
            }
            let id = held["reservation_id"].as_str().context("a hold")?;
            let (status, paid) = self
                .call(
                    reqwest::Method::POST,
                    "/v1/payments",
                    Some(token),
                    Some(json!({"reservation_ids": [id]})),
                )
                .await?;
            if status != 201 {
                bail!("payment answered {status}: {paid}");
            }
            return Ok(());
        }
        bail!("no seat after 10 tries")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1_024)
        .build()?;
    let rooms = testkit::tools::Rooms::new(&http, &a.target.ops, &a.target.admin_token);
    let room = |body: Value| {
        let rooms = rooms.clone();
        async move { rooms.put(a.concert, body).await.map(drop) }
    };
    room(
        json!({"mode": "queue_all", "capacity": 100_000, "active_ttl_secs": 300,
                "rate_per_minute": a.rate_per_minute}),
    )
    .await?;
    let totals = Arc::new(Totals::default());
    let user_base = 900_000_000
        + (chrono::Utc::now().timestamp() % 10_000) * 10_000
        + if a.mode == Mode::Sse { 5_000 } else { 0 };
    let first = (a.rate_per_minute / 60).max(1);
    // The first second's buyers join while admission is paused, so a line exists; then
    // the room opens and the rest arrive at the set pace (a buyer who finds the line empty
    // is admitted at once, so without this no line would form).
    let (open_tx, open_rx) = tokio::sync::watch::channel(false);
    let first_joined = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let results: Vec<()> = stream::iter(0..a.buyers)
        .map(|i| {
            let (http, totals) = (&http, totals.clone());
            let (open_tx, mut open_rx, first_joined) =
                (open_tx.clone(), open_rx.clone(), first_joined.clone());
            let (a, room) = (&a, &room);
            async move {
                if i >= first {
                    let _ = open_rx.wait_for(|open| *open).await;
                    let due = Duration::from_secs_f64((i - first) as f64 / a.arrivals_per_sec);
                    tokio::time::sleep(due).await;
                }
                let buyer = Buyer {
                    http,
                    base: &a.target.base,
                    concert: a.concert,
                    user: user_base + i as i64,
                };
                let outcome = async {
                    buyer
                        .call(
                            reqwest::Method::POST,
                            &format!("/v1/users/{}/points/charge", buyer.user),
                            None,
                            Some(json!({"amount": 1_000_000})),
                        )
                        .await?;
                    let (status, view) = buyer
                        .call(
                            reqwest::Method::POST,
                            "/v1/queue/tokens",
                            None,
                            Some(json!({"concert_id": a.concert, "user_id": buyer.user})),
                        )
                        .await?;
                    if i < first && first_joined.fetch_add(1, Ordering::SeqCst) + 1 == first {
                        room(json!({"mode": "open"})).await?;
                        let _ = open_tx.send(true);
                    }
                    if status >= 300 {
                        bail!("join answered {status}: {view}");
                    }
                    let (token, requests, waited) = buyer.wait(a.mode, view).await?;
                    totals.wait_requests.fetch_add(requests, Ordering::Relaxed);
                    totals
                        .wait_ms
                        .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
                    buyer.buy(&token).await
                }
                .await;
                match outcome {
                    Ok(()) => totals.paid.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("buyer {}: {e}", buyer.user);
                        totals.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        })
        .buffer_unordered(a.buyers as usize)
        .collect()
        .await;
    drop(results);
    let requests = totals.wait_requests.load(Ordering::Relaxed);
    let minutes = totals.wait_ms.load(Ordering::Relaxed) as f64 / 60_000.0;
    let paid = totals.paid.load(Ordering::Relaxed);
    let per_buyer_minute = if minutes > 0.0 {
        requests as f64 / minutes
    } else {
        0.0
    };
    println!(
        "wait-bench {:?}: {} buyers, {} paid, {} failed in {:.0} s; waiting: {} requests over \
         {:.1} buyer-minutes = {:.1} requests per buyer per minute of waiting",
        a.mode,
        a.buyers,
        paid,
        totals.failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        requests,
        minutes,
        per_buyer_minute
    );
    println!(
        "{}",
        json!({"mode": format!("{:?}", a.mode).to_lowercase(), "buyers": a.buyers, "paid": paid,
               "failed": totals.failed.load(Ordering::Relaxed), "wait_requests": requests,
               "wait_minutes": minutes, "requests_per_buyer_minute": per_buyer_minute})
    );
    Ok(())
}
