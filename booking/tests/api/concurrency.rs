use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn hundred_concurrent_holds_on_one_seat_yield_exactly_one(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Arc::new(Stack::booking(pool(opts, c).await).await);
    let (concert, schedules) = app.create_concert(&[50]).await;
    let tasks: Vec<_> = (1..=100)
        .map(|user| {
            let app = app.clone();
            let schedule = schedules[0];
            tokio::spawn(async move {
                let token = app.active_token(user, concert).await;
                app.hold(&token, schedule, 1).await
            })
        })
        .collect();
    let mut held = 0;
    for t in futures::future::join_all(tasks).await {
        let answer = t.unwrap();
        if answer.0 == StatusCode::CREATED {
            held += 1;
        } else {
            // Every other buyer: 409 SEAT_UNAVAILABLE.
            assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
        }
    }
    assert_eq!(held, 1, "exactly one hold, 99 refused");
    let reservations = app.scalar("SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 1);
    Arc::into_inner(app).unwrap().stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn concurrent_payments_of_one_hold_charge_once(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Arc::new(Stack::booking(pool(opts, c).await).await);
    let (_, schedule, token) = app.admitted(1, 50, 100_000).await;
    let id = app.hold_id(&token, schedule, 1).await;
    // 20 different keys and 20 copies of one key, all at once.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (app, token, id) = (app.clone(), token.clone(), id.clone());
            tokio::spawn(async move {
                let key = if i % 2 == 0 {
                    format!("k{i}")
                } else {
                    "shared".into()
                };
                app.pay(&token, &[&id], &key).await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let created: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    let payment_ids: std::collections::HashSet<_> = created
        .iter()
        .map(|(_, b)| b["payment_id"].to_string())
        .collect();
    assert_eq!(payment_ids.len(), 1, "more than one payment: {results:?}");
    for answer in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_problem_body(answer.clone(), StatusCode::CONFLICT, "RESERVATION_NOT_HELD");
    }
    assert_eq!(app.balance(1).await, 99_000);
    let payments = app.scalar("SELECT count(*) FROM payments").await;
    assert_eq!(payments, 1);
    app.audit().await;
    Arc::into_inner(app).unwrap().stop().await;
}

/// 200 buyers, 50 seats: random holds then payments, all at once. Afterwards no seat is
/// sold twice, SOLD seats = paid seats, and points are conserved.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn storm_of_buyers_keeps_every_invariant(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Arc::new(Stack::booking(pool(opts, c).await).await);
    let (concert, schedules) = app.create_concert(&[50]).await;
    let schedule = schedules[0];
    let started = Instant::now();
    let tasks: Vec<_> = (1..=200_i64)
        .map(|user| {
            let app = app.clone();
            tokio::spawn(async move {
                // Some buyers can't afford two seats; everyone can afford one.
                let amount = if user % 3 == 0 { 1_500 } else { 5_000 };
                let (status, _) = app.charge(user, amount).await;
                assert_eq!(status, StatusCode::OK);
                let token = app.active_token(user, concert).await;
                let mut held = Vec::new();
                for _ in 0..6 {
                    let seat = rand::rng().random_range(1..=50);
                    let (status, body) = app.hold(&token, schedule, seat).await;
                    match status {
                        StatusCode::CREATED => {
                            held.push(body["reservation_id"].as_str().unwrap().to_string())
                        }
                        // A seat this buyer holds already: the same hold back.
                        StatusCode::OK => assert!(held
                            .iter()
                            .any(|id| body["reservation_id"].as_str() == Some(id))),
                        StatusCode::CONFLICT => {}
                        other => panic!("unexpected hold answer {other}: {body}"),
                    }
                    if held.len() == 2 {
                        break;
                    }
                }
                if held.is_empty() {
                    return (0, 0);
                }
                let ids: Vec<&str> = held.iter().map(String::as_str).collect();
                let (status, body) = app.pay(&token, &ids, &format!("pay-{user}")).await;
                match status {
                    StatusCode::CREATED => (1, ids.len()),
                    StatusCode::PAYMENT_REQUIRED => {
                        // Can't afford both: pay for one, release the other.
                        let (status, _) = app.pay(&token, &ids[..1], &format!("pay1-{user}")).await;
                        assert_eq!(status, StatusCode::CREATED);
                        app.release(&token, ids[1]).await;
                        (1, 1)
                    }
                    other => panic!("unexpected payment answer {other}: {body}"),
                }
            })
        })
        .collect();
    let mut payments = 0;
    let mut seats_paid = 0;
    for t in futures::future::join_all(tasks).await {
        let (p, s) = t.unwrap();
        payments += p;
        seats_paid += s;
    }
    let elapsed = started.elapsed();
    let report = app.audit().await;
    assert_eq!(report.totals.sold_seats as usize, seats_paid);
    assert!(seats_paid <= 50);
    let sold_distinct = app
        .scalar("SELECT count(DISTINCT (schedule_id, seat_no)) FROM reservations WHERE status = 'CONFIRMED'")
        .await;
    assert_eq!(sold_distinct as usize, seats_paid);
    let t = &report.totals;
    assert_eq!(t.charges, t.balances + t.payments);
    println!(
        "storm: 200 buyers, 50 seats -> {payments} payments, {seats_paid} seats sold, \
         charges={} balances={} payments_total={} in {:.2?}",
        t.charges, t.balances, t.payments, elapsed
    );
    Arc::into_inner(app).unwrap().stop().await;
}
