//! `eta-bench`: how good the ETA is at steady admission, through the real gateway.
//!
//! Sets a room to a fixed rate (`--rate-per-minute`, capacity out of the way), starts its
//! line with a second's worth of buyers while admission is paused (a buyer who finds the
//! line empty is admitted at once, so without this no line would form), opens it, and then
//! buyers arrive at twice the rate for `--seconds`, so the line builds up and drains; each
//! one joins once (`POST /v1/queue/tokens`) and is told an `eta_seconds`. The first
//! second's buyers are counted too (their estimate was made while paused, on the
//! configured rate). The gateways record every
//! estimate against the wait the buyer then had (`gateway::admission::accuracy`); when the
//! line is empty this prints the room's `eta_accuracy` from `GET /admin/rooms/{id}` (median
//! and p90 absolute error, and the errors relative to the wait).
//!
//! Usage: `eta-bench --concert ID [--base URL] [--ops URL] [--admin-token T]
//! [--rate-per-minute 3000] [--seconds 15]` (`ADMIN_TOKEN` too).

use std::time::{Duration, Instant};

use anyhow::bail;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use testkit::tools::{read_options, Target};

const USAGE: &str = "usage: eta-bench --concert ID [--base URL] [--ops URL] [--admin-token T] \
     [--rate-per-minute N] [--seconds S]";

struct Args {
    concert: i64,
    target: Target,
    rate_per_minute: u64,
    seconds: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        concert: 0,
        target: Target::default(),
        rate_per_minute: 3_000,
        seconds: 15,
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--concert" => parsed.concert = cli.parsed(option)?,
            "--rate-per-minute" => parsed.rate_per_minute = cli.parsed(option)?,
            "--seconds" => parsed.seconds = cli.parsed(option)?,
            _ => return parsed.target.take(option, cli),
        }
        Ok(true)
    })?;
    if parsed.concert <= 0 {
        bail!("--concert is required");
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let (client, rooms) = a.target.connect()?;
    let room = |body: Option<Value>| {
        let rooms = rooms.clone();
        async move {
            match body {
                Some(change) => rooms.put(a.concert, change).await,
                None => rooms.get(a.concert).await,
            }
        }
    };
    room(Some(json!({
        "mode": "queue_all",
        "capacity": 1_000_000,
        "active_ttl_secs": 600,
        "rate_per_minute": a.rate_per_minute,
    })))
    .await?;

    let arrivals_per_sec = (a.rate_per_minute as f64 / 60.0 * 2.0).max(1.0);
    let first = (a.rate_per_minute / 60).max(1);
    let buyers = first + (arrivals_per_sec * a.seconds as f64) as u64;
    let user_base = 700_000_000 + (chrono::Utc::now().timestamp() % 100_000) * 1_000;
    let join = |i: u64, due: Option<(Instant, Duration)>| {
        let client = client.clone();
        let url = format!("{}/v1/queue/tokens", a.target.base);
        let body = json!({"concert_id": a.concert, "user_id": user_base + i as i64});
        async move {
            if let Some((started, at)) = due {
                if let Some(wait) = at.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            let r = client
                .post(url)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status().is_success() {
                Ok(())
            } else {
                Err(format!("join answered {}", r.status()))
            }
        }
    };
    let mut joined: Vec<Result<(), String>> = stream::iter(0..first)
        .map(|i| join(i, None))
        .buffer_unordered(64)
        .collect()
        .await;
    room(Some(json!({"mode": "open"}))).await?;
    let started = Instant::now();
    let rest: Vec<Result<(), String>> = stream::iter(first..buyers)
        .map(|i| {
            let due = Duration::from_secs_f64((i - first) as f64 / arrivals_per_sec);
            join(i, Some((started, due)))
        })
        .buffer_unordered(256)
        .collect()
        .await;
    joined.extend(rest);
    let failed = joined.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        bail!(
            "{failed} of {buyers} joins failed, e.g. {:?}",
            joined.iter().find(|r| r.is_err())
        );
    }
    // The line drains at the set rate; the samples land within a tick of each admission.
    let deadline = Instant::now() + Duration::from_secs(a.seconds * 4 + 60);
    loop {
        let r = room(None).await?;
        if r["waiting"] == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the line did not drain: {r}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let r = room(None).await?;
    let acc = &r["eta_accuracy"];
    println!(
        "eta at steady admission ({} buyers arriving at {arrivals_per_sec:.0}/s, admitted at \
         {}/min): {} samples, median abs error {} s, p90 {} s; median error {} % of the wait \
         (abs: median {} %, p90 {} %)",
        buyers,
        a.rate_per_minute,
        acc["samples"],
        acc["median_abs_error_secs"],
        acc["p90_abs_error_secs"],
        acc["median_error_pct"],
        acc["median_abs_error_pct"],
        acc["p90_abs_error_pct"],
    );
    println!("{}", json!({"eta_accuracy": acc, "buyers": buyers}));
    Ok(())
}
