//! `tickets-bench`: the ticket figures of `scripts/bench`, on the running system (booking,
//! the gateways, PostgreSQL).
//!
//! 1. **Check-in storm**: `--tickets` tickets (10,000) of one schedule, scanned by `--doors`
//!    doors (10) at once, with `--dup-percent` (10 %) of them scanned a second time by
//!    another door at the same moment (each duplicate right behind its original in the
//!    doors' shared queue). Prints scans per second and the outcomes: exactly one 200 per
//!    ticket, every duplicate 409 `ALREADY_CHECKED_IN`, as many tickets checked in in
//!    PostgreSQL as tickets.
//! 2. **A show cancelled**: a venue of `--show-tickets` seats (60,000), every one sold, the
//!    show cancelled (`POST /admin/schedules/{id}/cancel`); prints the time until every
//!    ticket is refunded (`to_refund` 0) and the refunds per second.
//! 3. **Waitlist drill**: a sold-out concert of `--cancellations` seats (100) with
//!    `--waiting` buyers (1,000) joined after the sell-out (placed, told `sold_out`), then
//!    every ticket cancelled at once; prints the time from the first cancellation until as
//!    many waiting buyers are admitted as seats came back, and whether they were the first
//!    in line (and nobody behind them).
//!
//! The tickets are written straight into the database (users, charges, payments, sold
//! seats, confirmed reservations, as a sale leaves them: the auditor's invariants hold),
//! which takes seconds instead of a sale's minutes; their codes are signed with the
//! development key the services run with in `scripts/up`.
//!
//! Usage: `tickets-bench --database URL [--base URL] [--ops URL] [--booking URL]
//! [--admin-token T] [--booking-admin-token T] [--internal-token T] [--doors 10]
//! [--tickets 10000] [--dup-percent 10] [--show-tickets 60000] [--waiting 1000]
//! [--cancellations 100]` (`ADMIN_TOKEN`, `BOOKING_ADMIN_TOKEN`, `INTERNAL_TOKEN` too).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::tools::{read_options, Target};

const USAGE: &str = "usage: tickets-bench --database URL [--base URL] [--ops URL] \
     [--booking URL] [--admin-token T] [--booking-admin-token T] [--internal-token T] \
     [--doors N] [--tickets N] [--dup-percent P] [--show-tickets N] [--waiting N] \
     [--cancellations N]";

const PRICE: i64 = 1000;

struct Args {
    target: Target,
    database: String,
    booking: String,
    booking_admin: String,
    internal: String,
    doors: usize,
    tickets: i64,
    dup_percent: i64,
    show_tickets: i64,
    waiting: i64,
    cancellations: i64,
}

fn args() -> anyhow::Result<Args> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let mut a = Args {
        target: Target::default(),
        database: String::new(),
        booking: "http://127.0.0.1:8081".into(),
        booking_admin: env("BOOKING_ADMIN_TOKEN", "dev-admin-token"),
        internal: env("INTERNAL_TOKEN", ""),
        doors: 10,
        tickets: 10_000,
        dup_percent: 10,
        show_tickets: 60_000,
        waiting: 1_000,
        cancellations: 100,
    };
    read_options(USAGE, |option, cli| {
        match option {
            "--database" => a.database = cli.value(option)?,
            "--booking" => a.booking = cli.value(option)?,
            "--booking-admin-token" => a.booking_admin = cli.value(option)?,
            "--internal-token" => a.internal = cli.value(option)?,
            "--doors" => a.doors = cli.parsed(option)?,
            "--tickets" => a.tickets = cli.parsed(option)?,
            "--dup-percent" => a.dup_percent = cli.parsed(option)?,
            "--show-tickets" => a.show_tickets = cli.parsed(option)?,
            "--waiting" => a.waiting = cli.parsed(option)?,
            "--cancellations" => a.cancellations = cli.parsed(option)?,
            _ => return a.target.take(option, cli),
        }
        Ok(true)
    })?;
    if a.database.is_empty() {
        bail!("--database is required");
    }
    if a.doors == 0 || a.tickets <= 0 || a.show_tickets <= 0 || a.cancellations <= 0 {
        bail!("--doors, --tickets, --show-tickets and --cancellations must be > 0");
    }
    Ok(a)
}

/// Booking's admin API and buyer routes (as a gateway calls them).
struct Booking {
    client: reqwest::Client,
    url: String,
    admin: String,
    internal: String,
}

impl Booking {
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// A concert of one schedule in 30 days, `schedule` being its JSON; (concert, schedule).
    async fn concert(&self, title: &str, schedule: Value) -> anyhow::Result<(i64, i64)> {
        let mut schedule = schedule;
        schedule["starts_at"] = json!(chrono::Utc::now() + chrono::Duration::days(30));
        let body = json!({"title": title, "schedules": [schedule]});
        let (status, created) = self
            .admin(reqwest::Method::POST, "/admin/concerts", Some(body))
            .await?;
        if status != 201 {
            bail!("creating {title}: {status} {created}");
        }
        Ok((
            created["concert_id"].as_i64().context("concert_id")?,
            created["schedule_ids"][0].as_i64().context("schedule id")?,
        ))
    }

    async fn cancel_ticket(&self, user: i64, ticket: uuid::Uuid) -> anyhow::Result<u16> {
        let mut request = self
            .client
            .post(format!("{}/v1/tickets/{ticket}/cancel", self.url))
            .header("X-User-Id", user.to_string())
            .header("Idempotency-Key", format!("bench-{ticket}"));
        if !self.internal.is_empty() {
            request = request.header("X-Internal-Token", &self.internal);
        }
        Ok(request.send().await?.status().as_u16())
    }
}

/// A ticket written for the bench.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Sold {
    id: uuid::Uuid,
    user_id: i64,
    seat_no: i32,
    iat: i64,
}

/// Sells every seat `1..=seats` of the schedule to users `first_user + seat`, as a sale
/// leaves them (charge, payment, sold seat, confirmed reservation), in one transaction.
async fn sell(
    db: &PgPool,
    concert: i64,
    schedule: i64,
    seats: i64,
    first_user: i64,
) -> anyhow::Result<Vec<Sold>> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "CREATE TEMP TABLE bt ON COMMIT DROP AS
         SELECT n::INT AS seat_no, $1::BIGINT + n AS user_id, gen_random_uuid() AS pid,
                gen_random_uuid() AS rid
           FROM generate_series(1, $2) n",
    )
    .bind(first_user)
    .bind(seats)
    .execute(&mut *tx)
    .await?;
    // Each statement with the parameters it uses: $1 the price, $2 the concert, $3 the schedule.
    let statements: [(&str, usize); 6] = [
        (
            "INSERT INTO users (id) SELECT user_id FROM bt ON CONFLICT DO NOTHING",
            0,
        ),
        (
            "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
             SELECT user_id, 'CHARGE', $1, $1, 'bench:' || rid FROM bt",
            1,
        ),
        (
            "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
             SELECT user_id, 'USE', $1, 0, 'payment:' || pid FROM bt",
            1,
        ),
        (
            "INSERT INTO payments (id, user_id, concert_id, amount)
             SELECT pid, user_id, $2, $1 FROM bt",
            2,
        ),
        (
            "UPDATE seats s SET status = 'SOLD', reservation_id = bt.rid, held_until = NULL
               FROM bt WHERE s.schedule_id = $3 AND s.seat_no = bt.seat_no AND $1 > 0 AND $2 > 0",
            3,
        ),
        (
            "INSERT INTO reservations
                 (id, order_id, user_id, concert_id, schedule_id, seat_no, price, status,
                  held_until, payment_id)
             SELECT rid, rid, user_id, $2, $3, seat_no, $1, 'CONFIRMED', now(), pid FROM bt",
            3,
        ),
    ];
    for (statement, params) in statements {
        let mut query = sqlx::query(statement);
        for value in [PRICE, concert, schedule].into_iter().take(params) {
            query = query.bind(value);
        }
        query
            .execute(&mut *tx)
            .await
            .with_context(|| statement.to_owned())?;
    }
    let sold: Vec<Sold> = sqlx::query_as(
        "SELECT bt.rid AS id, bt.user_id, bt.seat_no, extract(epoch FROM p.paid_at)::BIGINT AS iat
           FROM bt JOIN payments p ON p.id = bt.pid ORDER BY bt.seat_no",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(sold)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let (client, rooms) = a.target.connect()?;
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&a.database)
        .await
        .context("connecting to the database")?;
    let booking = Arc::new(Booking {
        client: client.clone(),
        url: a.booking.trim_end_matches('/').to_owned(),
        admin: a.booking_admin.clone(),
        internal: a.internal.clone(),
    });
    let keys = booking::tickets::signing::TicketKeys::new(
        shared::config::dev::TICKET_SIGNING_KEY,
        "dev-1",
        "",
    )
    .map_err(anyhow::Error::msg)?;
    let stamp = chrono::Utc::now().timestamp() % 100_000;

    // ------------------------------------------------------------ 1. check-in storm
    let (concert, schedule) = booking
        .concert(
            "bench check-in",
            json!({"seats": a.tickets, "price": PRICE}),
        )
        .await?;
    let sold = sell(
        &db,
        concert,
        schedule,
        a.tickets,
        800_000_000 + stamp * 100_000,
    )
    .await?;
    let code = |t: &Sold| {
        keys.sign(&shared::contract::tickets::TicketClaims {
            tid: t.id,
            sch: schedule,
            seat: t.seat_no,
            sub: t.user_id.to_string(),
            iat: t.iat,
        })
    };
    let mut scans: Vec<String> = Vec::new();
    let every = (100 / a.dup_percent.max(1)).max(1) as usize;
    for (i, t) in sold.iter().enumerate() {
        let c = code(t);
        if a.dup_percent > 0 && i % every == 0 {
            scans.push(c.clone());
        }
        scans.push(c);
    }
    let statuses = Arc::new(Mutex::new(Vec::with_capacity(scans.len())));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(scans.len())));
    let started = Instant::now();
    stream::iter(scans.clone())
        .for_each_concurrent(a.doors, |c| {
            let (booking, statuses, latencies) =
                (booking.clone(), statuses.clone(), latencies.clone());
            async move {
                let at = Instant::now();
                let answer = booking
                    .admin(
                        reqwest::Method::POST,
                        "/admin/checkins",
                        Some(json!({"code": c})),
                    )
                    .await;
                let status = answer.map(|(s, b)| (s, b["code"].as_str().unwrap_or("").to_owned()));
                latencies
                    .lock()
                    .unwrap()
                    .push(at.elapsed().as_secs_f64() * 1000.0);
                statuses
                    .lock()
                    .unwrap()
                    .push(status.unwrap_or((0, "io".into())));
            }
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let statuses = statuses.lock().unwrap().clone();
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    let again = statuses
        .iter()
        .filter(|(s, c)| *s == 409 && c == "ALREADY_CHECKED_IN")
        .count();
    let other = statuses.len() - ok - again;
    let checked_in: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservations WHERE schedule_id = $1 AND checked_in_at IS NOT NULL",
    )
    .bind(schedule)
    .fetch_one(&db)
    .await?;
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let exactly_once = ok as i64 == a.tickets
        && checked_in == a.tickets
        && again == scans.len() - a.tickets as usize;
    println!(
        "checkin storm: doors {} scans {} tickets {} seconds {secs:.2} scans_per_s {:.0} first {ok} again {again} other {other} checked_in {checked_in} p50_ms {:.1} p99_ms {:.1} exactly_once {}",
        a.doors,
        scans.len(),
        a.tickets,
        scans.len() as f64 / secs,
        quantile(&lat, 0.5),
        quantile(&lat, 0.99),
        if exactly_once { "yes" } else { "NO" }
    );

    // ------------------------------------------------------------ 2. a show cancelled
    let sections: Vec<Value> = (0..(a.show_tickets + 1999) / 2000)
        .map(|s| {
            let left = (a.show_tickets - s * 2000).min(2000);
            let rows: Vec<Value> = (0..(left + 49) / 50)
                .map(|r| json!({"label": (r + 1).to_string(), "seats": (left - r * 50).min(50)}))
                .collect();
            let grade = ["VIP", "R", "S"][(s % 3) as usize];
            json!({"name": format!("S{:02}", s + 1), "grade": grade, "rows": rows})
        })
        .collect();
    let (status, venue) = booking
        .admin(
            reqwest::Method::POST,
            "/admin/venues",
            Some(json!({"name": "Bench stadium", "sections": sections})),
        )
        .await?;
    if status != 201 {
        bail!("creating the stadium: {status} {venue}");
    }
    let prices: serde_json::Map<String, Value> = sections
        .iter()
        .map(|s| (s["grade"].as_str().unwrap_or("").to_owned(), json!(PRICE)))
        .collect();
    let (show_concert, show) = booking
        .concert(
            "bench show cancelled",
            json!({"venue_id": venue["venue_id"], "prices": prices}),
        )
        .await?;
    sell(
        &db,
        show_concert,
        show,
        a.show_tickets,
        810_000_000 + stamp * 100_000,
    )
    .await?;
    let path = format!("/admin/schedules/{show}");
    let started = Instant::now();
    let (status, _) = booking
        .admin(reqwest::Method::POST, &format!("{path}/cancel"), None)
        .await?;
    if status != 202 {
        bail!("cancelling the show: {status}");
    }
    let refunded = loop {
        let (_, view) = booking.admin(reqwest::Method::GET, &path, None).await?;
        if view["to_refund"] == 0 {
            break view["refunded"].as_i64().unwrap_or(0);
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the show's refunds did not finish in 10 minutes: {view}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    let refunds: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM point_history h JOIN reservations r ON h.reference = 'refund:' || r.id
          WHERE r.schedule_id = $1 AND h.kind = 'REFUND'",
    )
    .bind(show)
    .fetch_one(&db)
    .await?;
    println!(
        "show cancelled: tickets {} refunded {refunded} refund_rows {refunds} seconds {secs:.2} refunds_per_s {:.0} once {}",
        a.show_tickets,
        refunded as f64 / secs,
        if refunded == a.show_tickets && refunds == a.show_tickets { "yes" } else { "NO" }
    );

    // ------------------------------------------------------------ 3. waitlist drill
    let (wl_concert, wl_schedule) = booking
        .concert(
            "bench waitlist",
            json!({"seats": a.cancellations, "price": PRICE}),
        )
        .await?;
    let wl_sold = sell(
        &db,
        wl_concert,
        wl_schedule,
        a.cancellations,
        820_000_000 + stamp * 100_000,
    )
    .await?;
    rooms
        .put(wl_concert, json!({"mode": "open", "capacity": 1_000_000, "batch_size": 10_000, "tick_ms": 100, "waitlist": true}))
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while rooms.get(wl_concert).await?["sold_out"] != true {
        if Instant::now() > deadline {
            bail!("the waitlist concert was never published as sold out");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first_buyer = 830_000_000 + stamp * 10_000;
    let joined = Arc::new(AtomicUsize::new(0));
    let mut tokens: Vec<(i64, String)> = Vec::new();
    // Joins one after the other in small waves, so line order is join order.
    for chunk in (0..a.waiting).collect::<Vec<_>>().chunks(50) {
        let answers: Vec<anyhow::Result<(i64, String)>> = stream::iter(chunk.to_vec())
            .map(|i| {
                let (client, base, joined) =
                    (client.clone(), a.target.base.clone(), joined.clone());
                async move {
                    let user = first_buyer + i;
                    let response = client
                        .post(format!("{base}/v1/queue/tokens"))
                        .json(&json!({"concert_id": wl_concert, "user_id": user}))
                        .send()
                        .await?;
                    let body: Value = response.json().await?;
                    if body["status"] != "sold_out" {
                        bail!("a join after the sell-out answered {body}");
                    }
                    joined.fetch_add(1, Ordering::Relaxed);
                    Ok((
                        body["position"].as_i64().unwrap_or(0),
                        body["token"].as_str().unwrap_or("").to_owned(),
                    ))
                }
            })
            .buffered(1)
            .collect()
            .await;
        for answer in answers {
            tokens.push(answer?);
        }
    }
    let started = Instant::now();
    let cancelled = stream::iter(wl_sold.clone())
        .map(|t| {
            let booking = booking.clone();
            async move { booking.cancel_ticket(t.user_id, t.id).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let cancel_secs = started.elapsed().as_secs_f64();
    if cancelled.iter().any(|r| !matches!(r, Ok(200))) {
        bail!(
            "cancellations failed: {:?}",
            cancelled
                .iter()
                .filter(|r| !matches!(r, Ok(200)))
                .take(3)
                .collect::<Vec<_>>()
        );
    }
    let admitted_all = loop {
        let room = rooms.get(wl_concert).await?;
        if room["active"].as_i64().unwrap_or(0) >= a.cancellations {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!(
                "only {} of {} admitted after 2 minutes: {room}",
                room["active"],
                a.cancellations
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Line order: the first `cancellations` in line are the admitted, nobody behind them.
    let status = |token: String| {
        let (client, base) = (client.clone(), a.target.base.clone());
        async move {
            let response = client
                .get(format!("{base}/v1/queue/status"))
                .bearer_auth(token)
                .send()
                .await?;
            let body: Value = response.json().await?;
            anyhow::Ok(body["status"].as_str().unwrap_or("").to_owned())
        }
    };
    let n = a.cancellations as usize;
    let head: Vec<String> = stream::iter(tokens[..n].iter().map(|(_, t)| status(t.clone())))
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let behind: Vec<String> = stream::iter(
        tokens[n..(n + 100).min(tokens.len())]
            .iter()
            .map(|(_, t)| status(t.clone())),
    )
    .buffered(16)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<_>>()?;
    let in_order = head.iter().all(|s| s == "active") && behind.iter().all(|s| s != "active");
    let first_position = tokens.first().map_or(0, |(p, _)| *p);
    println!(
        "waitlist drill: seats {} waiting {} first_position {first_position} cancel_seconds {cancel_secs:.2} admitted_seconds {admitted_all:.2} in_line_order {}",
        a.cancellations,
        joined.load(Ordering::Relaxed),
        if in_order { "yes" } else { "NO" }
    );
    if !exactly_once || !in_order {
        std::process::exit(1);
    }
    Ok(())
}
