//! Group commit of payments (booking/src/payments/batch.rs): payments that arrive
//! together commit in one transaction, each still all-or-nothing on its own.

use booking::payments::batch::{pay_together, PayCall, PayFailure, PayResult};

/// Sold markers' lifetime in these tests.
const MARKER_MS: u64 = 3_600_000;
use booking::payments::refusal::Refusal;
use futures::future::join_all;
use reqwest::StatusCode;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use testkit::prelude::*;

fn call(user_id: i64, concert_id: i64, ids: &[Uuid], key: &str) -> PayCall {
    let mut ids = ids.to_vec();
    ids.sort();
    PayCall {
        user_id,
        concert_id,
        seq: 1,
        request_hash: booking::idempotency::fingerprint(&ids),
        reservation_ids: ids,
        key: key.into(),
        payment_id: Uuid::now_v7(),
    }
}

fn refusal(outcome: &PayResult) -> Option<&Refusal> {
    match outcome {
        Err(PayFailure::Refused(refusal)) => Some(refusal),
        _ => None,
    }
}

async fn hold_id(app: &Stack, user_id: i64, concert: i64, schedule: i64, seat: i64) -> Uuid {
    let token = app.active_token(user_id, concert).await;
    app.hold_id(&token, schedule, seat).await.parse().unwrap()
}

/// Payments made, and the transactions they were committed in (`paid_at = now()`, the
/// transaction's start).
async fn payments_and_transactions(app: &Stack) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT paid_at) FROM payments")
        .fetch_one(app.db())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_group_commits_each_payment_on_its_own_merits(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[10]).await;
    let s = schedules[0];
    for (user, points) in [(1, 5_000), (2, 500), (3, 5_000), (4, 5_000)] {
        app.charge(user, points).await;
    }
    let r1 = hold_id(&app, 1, concert, s, 1).await;
    let r2 = hold_id(&app, 2, concert, s, 2).await;
    let r3 = hold_id(&app, 3, concert, s, 3).await;
    let state = &app.booking_app().state;
    // Out of user order on purpose: the group runs sorted by user id, answers in call order.
    let calls = [
        call(4, concert, &[r3], "d"),             // another buyer's reservation
        call(3, concert, &[r3], "c"),             // pays
        call(1, concert, &[r1], "a"),             // pays
        call(2, concert, &[r2], "b"),             // balance 500 < 1,000
        call(3, concert, &[r3], "c"),             // same key, same request: the saved answer
        call(1, concert, &[r1], "a2"),            // already paid in this very group
        call(5, concert, &[Uuid::now_v7()], "e"), // no such reservation
    ];
    let out = pay_together(&state.db, &state.store, &calls, MARKER_MS).await;
    assert_eq!(out.len(), calls.len());

    assert_eq!(
        refusal(&out[0]),
        Some(&Refusal::NotOwner {
            reservation: r3.to_string()
        })
    );
    let paid3 = out[1].as_ref().expect("user 3 pays");
    assert!(!paid3.row.replayed && paid3.admission_ended);
    let paid1 = out[2].as_ref().expect("user 1 pays");
    assert!(!paid1.row.replayed && paid1.admission_ended);
    assert_eq!(paid1.row.body["balance"], 4_000);
    assert_eq!(
        refusal(&out[3]),
        Some(&Refusal::InsufficientBalance {
            balance: 500,
            amount: 1000
        })
    );
    let replay = out[4].as_ref().expect("the replay answers");
    assert!(replay.row.replayed && !replay.admission_ended);
    assert_eq!(replay.row.body, paid3.row.body);
    assert_eq!(
        refusal(&out[5]),
        Some(&Refusal::NotHeld {
            status: "CONFIRMED".into()
        })
    );
    assert_eq!(refusal(&out[6]), Some(&Refusal::NotFound));

    // Two payments, committed together (paid_at = now() = the transaction's start); the
    // refused ones changed nothing.
    assert_eq!(payments_and_transactions(&app).await, (2, 1));
    for (user, balance) in [(1, 4_000), (2, 500), (3, 4_000), (4, 5_000)] {
        assert_eq!(app.balance(user).await, balance, "user {user}");
    }
    let token = app.active_token(1, concert).await;
    for (seat, status) in [(1, "SOLD"), (2, "HELD"), (3, "SOLD")] {
        let now = app.seat_status(&token, s, seat).await;
        assert_eq!(now, status, "seat {seat}");
    }
    // The sold seats' keys are sold markers; the unpaid hold keeps its key.
    let mut conn = app.redis.clone();
    for (seat, sold) in [(1, true), (2, false), (3, true)] {
        let value: Option<String> = redis::cmd("GET")
            .arg(state.store.keys().hold(concert, s, seat))
            .query_async(&mut conn)
            .await
            .unwrap();
        let value = value.expect("the seat has a key");
        assert_eq!(value == "sold", sold, "key of seat {seat}: {value}");
    }
    // The refused buyer pays on its own afterwards with the same key.
    app.charge(2, 500).await;
    let alone = [call(2, concert, &[r2], "b")];
    let out = pay_together(&state.db, &state.store, &alone, MARKER_MS).await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn concurrent_payments_commit_in_groups_and_keep_every_invariant(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[60]).await;
    let buyers: Vec<i64> = (1..=60).collect();
    let mut holds = Vec::new();
    for &user in &buyers {
        app.charge(user, 1_500).await;
        holds.push(hold_id(&app, user, concert, schedules[0], user).await);
    }
    let before = app.scalar("SELECT sum(balance)::BIGINT FROM users").await;
    // Every buyer pays at once, half of them twice with the same key.
    let mut calls = Vec::new();
    for (&user, id) in buyers.iter().zip(&holds) {
        let times = if user % 2 == 0 { 2 } else { 1 };
        for _ in 0..times {
            calls.push((user, app.active_token(user, concert).await, id.to_string()));
        }
    }
    let shared_app = &app;
    let requests = calls.iter().map(|(user, token, id)| async move {
        let key = format!("key-{user}");
        (*user, shared_app.pay(token, &[id.as_str()], &key).await)
    });
    let answers = join_all(requests).await;
    for (user, (status, body)) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "user {user}: {body}");
        assert_eq!(body["balance"], 500, "user {user}: {body}");
    }
    let (payments, transactions) = payments_and_transactions(&app).await;
    assert_eq!(
        payments, 60,
        "one payment per buyer, replays charge nothing"
    );
    assert!(
        transactions < payments,
        "{payments} payments in {transactions} transactions: no group formed"
    );
    let after = app.scalar("SELECT sum(balance)::BIGINT FROM users").await;
    assert_eq!(before - after, 60 * 1_000, "points conserved");
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_group_that_times_out_answers_every_payment_unavailable_and_changes_nothing(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c.clone()).await).await;
    let (concert, schedules) = app.create_concert(&[10]).await;
    for user in [1, 2] {
        app.charge(user, 5_000).await;
    }
    let r1 = hold_id(&app, 1, concert, schedules[0], 1).await;
    let r2 = hold_id(&app, 2, concert, schedules[0], 2).await;
    // A pool whose statements time out after 300 ms, and buyer 2's row locked elsewhere.
    let impatient = sqlx::PgPool::connect_with(c.options([("statement_timeout", "300")]))
        .await
        .unwrap();
    let blocker = app
        .lock(&["SELECT 1 FROM users WHERE id = 2 FOR UPDATE"])
        .await;
    let before = app.snapshot().await;
    let calls = [call(1, concert, &[r1], "a"), call(2, concert, &[r2], "b")];
    let store = &app.booking_app().state.store;
    let out = pay_together(&impatient, store, &calls, MARKER_MS).await;
    // The whole group timed out: both buyers get 503 (buyer 1, whose row is free, would
    // have paid had the group been retried payment by payment).
    for outcome in &out {
        assert!(
            matches!(outcome, Err(PayFailure::DatabaseUnavailable(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(app.snapshot().await, before);
    blocker.rollback().await.unwrap();
    // Once the lock is gone the same keys go through.
    let out = pay_together(&impatient, store, &calls, MARKER_MS).await;
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(app.balance(1).await, 4_000);
    assert_eq!(app.balance(2).await, 4_000);
    impatient.close().await;
    app.audit().await;
    app.stop().await;
}

/// Deadlocks seen by the test database so far (PostgreSQL's cumulative statistics, read
/// fresh).
async fn deadlocks(db: &sqlx::PgPool) -> i64 {
    let mut conn = db.acquire().await.unwrap();
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// A group payment of buyers A and B, and at the same moment a hold by B on A's seat that
/// reaches PostgreSQL (its Redis key is gone, as after a Redis restart). The worst order,
/// forced: B's row is locked by the test, the hold queues for it first, then the group
/// (which would lock A and A's seat before it queues for B too), then the test lets go.
/// With the group locking every buyer before any seat, as a hold does, nobody waits in a
/// cycle: every payment commits, every such hold is refused 409, and PostgreSQL counts no
/// deadlock.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_hold_crossing_a_group_payment_never_deadlocks(opts: PgPoolOptions, c: PgConnectOptions) {
    const ROUNDS: i64 = 5;
    let app = std::sync::Arc::new(Stack::booking(pool(opts, c).await).await);
    let (concert, schedules) = app.create_concert(&[(ROUNDS * 2) as i32]).await;
    let s = schedules[0];
    let state = &app.booking_app().state;
    let before = deadlocks(app.db()).await;
    let mut redis = app.redis.clone();
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(300));
    for round in 0..ROUNDS {
        let (a, b) = (1_000 + 2 * round, 1_001 + 2 * round);
        let (seat_a, seat_b) = (2 * round + 1, 2 * round + 2);
        app.charge(a, 5_000).await;
        app.charge(b, 5_000).await;
        let ra = hold_id(&app, a, concert, s, seat_a).await;
        let rb = hold_id(&app, b, concert, s, seat_b).await;
        let _: () = redis::cmd("DEL")
            .arg(state.store.keys().hold(concert, s, seat_a as i32))
            .query_async(&mut redis)
            .await
            .unwrap();
        let token_b = app.active_token(b, concert).await;
        let calls = [
            call(a, concert, &[ra], &format!("a{round}")),
            call(b, concert, &[rb], &format!("b{round}")),
        ];

        let gate = app
            .lock(&[&format!("SELECT 1 FROM users WHERE id = {b} FOR UPDATE")])
            .await;
        let hold = tokio::spawn({
            let app = app.clone();
            async move { app.hold(&token_b, s, seat_a).await }
        });
        pause().await;
        let group = tokio::spawn({
            let (db, store) = (state.db.clone(), state.store.clone());
            async move { pay_together(&db, &store, &calls, MARKER_MS).await }
        });
        pause().await;
        gate.commit().await.unwrap();

        let (status, body) = hold.await.unwrap();
        assert_eq!(status, StatusCode::CONFLICT, "round {round}: {body}");
        for (i, outcome) in group.await.unwrap().iter().enumerate() {
            assert!(outcome.is_ok(), "round {round}, payment {i}: {outcome:?}");
        }
    }
    // The statistics of the other backends arrive within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        deadlocks(app.db()).await,
        before,
        "PostgreSQL saw a deadlock"
    );
    app.audit().await;
    std::sync::Arc::into_inner(app).unwrap().stop().await;
}
