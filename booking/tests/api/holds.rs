use std::time::Duration;

use reqwest::{Method, StatusCode};
use shared::token::TicketStatus;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn buyer_lists_schedules_and_seats_then_holds_one(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, token) = app.admitted(1, 50, 0).await;

    let schedules_path = format!("/v1/concerts/{concert}/schedules");
    let (status, list) = app.read(&schedules_path, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["schedule_id"], schedule);
    assert_eq!(list[0]["total_seats"], 50);
    assert_eq!(list[0]["available_seats"], 50);

    let (status, held) = app.hold(&token, schedule, 7).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["status"], "HELD");
    assert_eq!(held["seat_no"], 7);
    assert_eq!(held["price"], 1000);
    assert!(held["held_until"].is_string());
    assert_eq!(app.seat_status(&token, schedule, 7).await, "HELD");
    let (_, list) = app.read(&schedules_path, Some(&token)).await;
    assert_eq!(list[0]["available_seats"], 49);

    let id = held["reservation_id"].as_str().unwrap();
    let reservation = format!("/v1/reservations/{id}");
    let (status, shown) = app.read(&reservation, Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["status"], "HELD");
    let other = app.active_token(2, concert).await;
    let r = app.send(Method::GET, &reservation, Some(&other)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let unknown = format!("/v1/reservations/{}", uuid::Uuid::new_v4());
    let r = app.send(Method::GET, &unknown, Some(&token)).await;
    assert_problem(r, StatusCode::NOT_FOUND, "RESERVATION_NOT_FOUND").await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn second_hold_on_same_seat_is_409_and_bad_seats_are_404(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, a) = app.admitted(1, 50, 0).await;
    let b = app.active_token(2, concert).await;
    app.hold_id(&a, schedule, 1).await;
    let taken = app.hold(&b, schedule, 1).await;
    assert_problem_body(taken, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    for (schedule, seat) in [(schedule, 0), (schedule, 51), (schedule, -1), (9999, 1)] {
        let answer = app.hold(&b, schedule, seat).await;
        assert_problem_body(answer, StatusCode::NOT_FOUND, "SEAT_NOT_FOUND");
    }
    let r = app
        .send(Method::GET, "/v1/schedules/9999/seats", Some(&b))
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "SCHEDULE_NOT_FOUND").await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn tokens_must_be_valid_active_and_for_this_concert(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedules) = app.create_concert(&[50]).await;
    let (other_concert, _) = app.create_concert(&[5]).await;
    let before = app.snapshot().await;

    let wrong = app.active_token(1, other_concert).await;
    let answer = app.hold(&wrong, schedules[0], 1).await;
    assert_problem_body(answer, StatusCode::FORBIDDEN, "WRONG_CONCERT");
    for path in [
        format!("/v1/schedules/{}/seats", schedules[0]),
        format!("/v1/concerts/{concert}/schedules"),
    ] {
        let r = app.send(Method::GET, &path, Some(&wrong)).await;
        assert_problem(r, StatusCode::FORBIDDEN, "WRONG_CONCERT").await;
    }

    let waiting = app.token(1, concert, TicketStatus::Waiting, 600);
    let answer = app.hold(&waiting, schedules[0], 1).await;
    assert_problem_body(answer, StatusCode::FORBIDDEN, "NOT_ADMITTED");

    let expired = app.token(1, concert, TicketStatus::Active, -5);
    let mut tampered = app.active_token(1, concert).await;
    tampered.insert(tampered.len() - 3, 'x');
    let foreign = {
        let mut jwt = app.booking_settings.jwt.clone();
        jwt.secret = "some-other-key-some-other-key-xx".to_string().into();
        let keys = shared::token::TokenKeys::new(&jwt);
        let now = chrono::Utc::now().timestamp();
        keys.mint(&shared::token::QueueClaims::new(
            1,
            concert,
            1,
            TicketStatus::Active,
            now,
            now + 60,
        ))
    };
    for token in [&expired, &tampered, &foreign, "garbage", "a.b.c"] {
        let answer = app.hold(token, schedules[0], 1).await;
        assert_problem_body(answer, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
    }
    // No token at all.
    let hold = serde_json::json!({"schedule_id": schedules[0], "seat_no": 1});
    let r = app
        .post("/v1/reservations")
        .json(&hold)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn hold_limit_per_buyer_and_release(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.holds.max_per_user = 2).await;
    let (concert, schedule, token) = app.admitted(1, 50, 0).await;
    let id = app.hold_id(&token, schedule, 1).await;
    app.hold_id(&token, schedule, 2).await;
    let answer = app.hold(&token, schedule, 3).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "HOLD_LIMIT");
    // The refused attempt left no Redis key behind: another buyer can take seat 3.
    let other = app.active_token(2, concert).await;
    app.hold_id(&other, schedule, 3).await;

    let reservation = format!("/v1/reservations/{id}");
    let r = app.send(Method::DELETE, &reservation, Some(&other)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(app.release(&token, &id).await, StatusCode::NO_CONTENT);
    assert_eq!(app.seat_status(&token, schedule, 1).await, "AVAILABLE");
    let (_, shown) = app.read(&reservation, Some(&token)).await;
    assert_eq!(shown["status"], "RELEASED");
    // Released seat is holdable at once (Redis key gone too), and the limit has room again.
    app.hold_id(&other, schedule, 1).await;
    app.hold_id(&token, schedule, 4).await;
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn expired_hold_frees_the_seat_and_late_payment_is_refused(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| {
        s.holds.ttl_secs = 1;
        s.holds.sweep_interval_ms = 60_000; // prove "available at once", not "after the sweep"
    })
    .await;
    let (concert, schedule, late) = app.admitted(1, 50, 10_000).await;
    let other = app.active_token(2, concert).await;
    let id = app.hold_id(&late, schedule, 5).await;

    let freed = eventually(Duration::from_secs(5), || async {
        app.seat_status(&other, schedule, 5).await == "AVAILABLE"
    })
    .await;
    assert!(freed, "the hold did not expire");
    let taken = eventually(Duration::from_secs(5), || async {
        app.hold(&other, schedule, 5).await.0 == StatusCode::CREATED
    })
    .await;
    assert!(taken, "another buyer could not hold the expired seat");

    let before = app.snapshot().await;
    let answer = app.pay(&late, &[&id], "late").await;
    assert_problem_body(answer, StatusCode::CONFLICT, "RESERVATION_EXPIRED");
    assert_eq!(app.balance(1).await, 10_000);
    assert_eq!(app.snapshot().await, before);
    let (_, shown) = app
        .read(&format!("/v1/reservations/{id}"), Some(&late))
        .await;
    assert_eq!(shown["status"], "EXPIRED");
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn sweeper_marks_expired_holds(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking_with(pool(opts, c).await, |s| {
        s.holds.ttl_secs = 1;
        s.holds.sweep_interval_ms = 100;
    })
    .await;
    let (_, schedule, token) = app.admitted(1, 50, 0).await;
    app.hold(&token, schedule, 1).await;
    let swept = eventually(Duration::from_secs(5), || async {
        let (held, expired): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM seats WHERE status = 'HELD'),
                    (SELECT count(*) FROM reservations WHERE status = 'EXPIRED')",
        )
        .fetch_one(app.db())
        .await
        .unwrap();
        held == 0 && expired == 1
    })
    .await;
    assert!(swept);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn redis_flushed_while_holds_exist_still_no_double_sale(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, a) = app.admitted(1, 50, 10_000).await;
    let b = app.active_token(2, concert).await;
    app.charge(2, 10_000).await;
    let id = app.hold_id(&a, schedule, 9).await;

    // Redis loses every key of this test (flush / restart without persistence).
    assert!(!app.redis_keys("*").await.is_empty());
    app.wipe_redis();

    // B's admission went with the rest; admitted again (as a re-join would), B tries.
    app.admit(2, concert, 1, 600).await;
    let answer = app.hold(&b, schedule, 9).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    // The database refused, so B's Redis key was released again.
    let left = app.redis_keys("hold*").await;
    assert!(left.is_empty(), "{left:?}");

    app.admit(1, concert, 1, 600).await;
    assert_eq!(app.pay(&a, &[&id], "a").await.0, StatusCode::CREATED);
    let (status, _) = app.hold(&b, schedule, 9).await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.audit().await;
    app.stop().await;
}

/// A show that has started takes no holds (the admin API may still create one in the past).
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_show_that_started_takes_no_holds(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let started = chrono::Utc::now() - chrono::Duration::minutes(5);
    let schedule = serde_json::json!({"starts_at": started, "seats": 5, "price": 100});
    let (status, body) = app
        .post_concert(&serde_json::json!({"title": "Yesterday", "schedules": [schedule]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (concert, schedule) = (
        body["concert_id"].as_i64().unwrap(),
        body["schedule_ids"][0].as_i64().unwrap(),
    );
    let token = app.active_token(1, concert).await;
    let before = app.snapshot().await;
    let answer = app.hold(&token, schedule, 1).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "SCHEDULE_CLOSED");
    assert_eq!(app.snapshot().await, before, "nothing changed");
    app.stop().await;
}

/// A buyer who repeats a hold of the seat they hold gets that hold back (200, the same
/// reservation, nothing new written); anyone else still gets 409.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_repeated_hold_returns_the_same_hold(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule, token) = app.admitted(1, 5, 0).await;
    let (status, first) = app.hold(&token, schedule, 2).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let after_first = app.snapshot().await;
    for _ in 0..3 {
        let (status, again) = app.hold(&token, schedule, 2).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again, first, "the same hold, as it was");
    }
    assert_eq!(app.snapshot().await, after_first, "nothing new written");
    let other = app.active_token(2, concert).await;
    let answer = app.hold(&other, schedule, 2).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    // Redis lost the key (restart): PostgreSQL recognises the buyer's hold all the same.
    app.wipe_redis();
    let token = app.active_token(1, concert).await;
    let (status, again) = app.hold(&token, schedule, 2).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["reservation_id"], first["reservation_id"]);
    app.audit().await;
    app.stop().await;
}

/// The answer of a hold is lost: the hold waits on the buyer's row (locked by the test) past
/// booking's request deadline, so the buyer gets 503; the hold still completes, and the
/// buyer's retry gets it back (200, same reservation) instead of a 409 on their own seat.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_hold_whose_answer_was_lost_is_given_back_on_retry(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.http.request_timeout_ms = 500).await;
    let (_, schedule, token) = app.admitted(1, 5, 100).await;
    let lock = app
        .lock(&["SELECT 1 FROM users WHERE id = 1 FOR UPDATE"])
        .await;
    // The first try, then the retry while it is still being made: told to come back.
    for _ in 0..2 {
        let answer = app.hold(&token, schedule, 3).await;
        assert_problem_body(
            answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
        );
    }
    lock.commit().await.unwrap();
    let held = poll_until(
        Duration::from_secs(10),
        "the first hold to complete",
        || async {
            let (status, body) = app.hold(&token, schedule, 3).await;
            (status == StatusCode::OK).then_some(body)
        },
    )
    .await;
    assert_eq!(held["status"], "HELD");
    let holds = app.scalar("SELECT count(*) FROM reservations").await;
    assert_eq!(holds, 1, "one hold, made once");
    app.audit().await;
    app.stop().await;
}

/// After a payment the seat's key is a "sold" marker: a later hold on it is refused in
/// Redis, without reaching PostgreSQL — here it would wait on the seat's and the buyer's
/// rows, which the test keeps locked, and get 503 at the deadline instead of 409.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn holds_on_a_sold_seat_stop_in_redis(opts: PgPoolOptions, c: PgConnectOptions) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.http.request_timeout_ms = 2_000).await;
    let (concert, schedule, token) = app.admitted(1, 5, 5_000).await;
    let id = app.hold_id(&token, schedule, 4).await;
    let (status, body) = app.pay(&token, &[&id], "sold-1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let lock = app
        .lock(&[
            "SELECT 1 FROM seats WHERE seat_no = 4 FOR UPDATE",
            "SELECT 1 FROM users WHERE id IN (1, 2) FOR UPDATE",
            "INSERT INTO users (id) VALUES (2) ON CONFLICT DO NOTHING",
        ])
        .await;
    for user in [1, 2] {
        let token = app.active_token(user, concert).await;
        let answer = app.hold(&token, schedule, 4).await;
        assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    }
    lock.rollback().await.unwrap();
    app.audit().await;
    app.stop().await;
}

/// Saved answers older than the retention are purged; newer ones stay.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn old_idempotency_records_are_purged(opts: PgPoolOptions, c: PgConnectOptions) {
    let db = pool(opts, c).await;
    let app = Stack::booking(db.clone()).await;
    for _ in 0..3 {
        app.charge(1, 10).await;
    }
    sqlx::query(
        "UPDATE idempotency SET created_at = now() - interval '49 hours'
         WHERE ctid IN (SELECT ctid FROM idempotency LIMIT 2)",
    )
    .execute(&db)
    .await
    .unwrap();
    let purged = booking::idempotency::purge(&db, 48).await.unwrap();
    assert_eq!(purged, 2);
    let left = app.scalar("SELECT count(*) FROM idempotency").await;
    assert_eq!(left, 1);
    assert_eq!(booking::idempotency::purge(&db, 48).await.unwrap(), 0);
    app.stop().await;
}
