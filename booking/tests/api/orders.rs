//! Venues, sections and orders of several seats: the layout, the reads, named and
//! best-available orders (all or nothing, side by side), release and payment of an order,
//! the ticket limit — under concurrency and with Redis losing or keeping stale keys.

use std::collections::{HashMap, HashSet};

use redis::AsyncCommands;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

/// A: VIP, rows of 4 and 4; B: R, rows of 6 and 6; C: S, one row of 10 (seats 1..=30).
const HALL: &[(&str, &str, &[i64])] = &[
    ("A", "VIP", &[4, 4]),
    ("B", "R", &[6, 6]),
    ("C", "S", &[10]),
];

fn seat_nos(order: &Value) -> Vec<i64> {
    order["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seat_no"].as_i64().unwrap())
        .collect()
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_venue_is_laid_out_and_its_schedules_priced_by_grade(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let admin = booking_settings().admin.token;
    let admin = secrecy::ExposeSecret::expose_secret(&admin).to_owned();
    let venue = json!({"name": "Olympic Hall", "sections": [
        {"name": "A", "grade": "VIP", "rows": [{"label": "1", "seats": 3}, {"label": "2", "seats": 2}]},
        {"name": "B", "grade": "R", "rows": [{"label": "1", "seats": 4}]}]});
    let (status, created) = app.post_venue(&venue).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["seats"], 9);
    let id = created["venue_id"].as_i64().unwrap();
    let (status, shown) = app.read(&format!("/admin/venues/{id}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["sections"], venue["sections"]);
    let (_, list) = app.read("/admin/venues", Some(&admin)).await;
    assert_eq!(list[0]["venue_id"], id);
    let r = app
        .send(Method::GET, "/admin/venues/999999", Some(&admin))
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Bad layouts and bad prices: 400, nothing created.
    let before = app.snapshot().await;
    let venues_before = app.scalar("SELECT count(*) FROM venues").await;
    for bad in [
        json!({"name": "", "sections": venue["sections"]}),
        json!({"name": "x".repeat(41), "sections": venue["sections"]}),
        json!({"name": "Hall", "sections": []}),
        json!({"name": "Hall", "sections": [{"name": "A", "grade": "VIP", "rows": []}]}),
        json!({"name": "Hall", "sections": [{"name": "A", "grade": "VIP", "rows": [{"label": "1", "seats": 0}]}]}),
        json!({"name": "Hall", "sections": [{"name": "A", "grade": "VIP", "rows": [{"label": "1", "seats": 1}]},
                                            {"name": "A", "grade": "R", "rows": [{"label": "1", "seats": 1}]}]}),
        json!({"name": "Hall", "sections": (0..101).map(|i| json!({"name": format!("S{i}"), "grade": "A",
            "rows": [{"label": "1", "seats": 1000}]})).collect::<Vec<_>>()}),
    ] {
        let answer = app.post_venue(&bad).await;
        assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    let starts = chrono::Utc::now() + chrono::Duration::days(3);
    for schedule in [
        json!({"starts_at": starts, "venue_id": id, "prices": {"VIP": 100}}),
        json!({"starts_at": starts, "venue_id": id, "prices": {"VIP": 100, "R": 50, "S": 10}}),
        json!({"starts_at": starts, "venue_id": 999999, "prices": {"VIP": 100, "R": 50}}),
        json!({"starts_at": starts, "venue_id": id, "prices": {"VIP": 100, "R": 50}, "price": 5}),
        json!({"starts_at": starts, "seats": 10}),
    ] {
        let answer = app
            .post_concert(&json!({"title": "T", "schedules": [schedule]}))
            .await;
        assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    }
    let answer = app
        .post_concert(&json!({"title": "T", "max_tickets_per_user": 0,
            "schedules": [{"starts_at": starts, "seats": 5, "price": 1}]}))
        .await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.scalar("SELECT count(*) FROM venues").await,
        venues_before
    );

    // A schedule on the venue: seats in layout order, priced by grade.
    let (status, concert) = app
        .post_concert(&json!({"title": "On a venue", "schedules": [
            {"starts_at": starts, "venue_id": id, "prices": {"VIP": 150000, "R": 90000}}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{concert}");
    let (concert, schedule) = (
        concert["concert_id"].as_i64().unwrap(),
        concert["schedule_ids"][0].as_i64().unwrap(),
    );
    let token = app.active_token(1, concert).await;
    let (status, seats) = app
        .read(&format!("/v1/schedules/{schedule}/seats"), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK, "{seats}");
    let places: Vec<(i64, &str, &str, i64, &str, i64)> = seats["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seat_no"].as_i64().unwrap(),
                s["section"].as_str().unwrap(),
                s["row"].as_str().unwrap(),
                s["number"].as_i64().unwrap(),
                s["grade"].as_str().unwrap(),
                s["price"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(places.len(), 9);
    assert_eq!(places[0], (1, "A", "1", 1, "VIP", 150000));
    assert_eq!(places[3], (4, "A", "2", 1, "VIP", 150000));
    assert_eq!(places[8], (9, "B", "1", 4, "R", 90000));
    let (_, b) = app
        .read(
            &format!("/v1/schedules/{schedule}/seats?section=B"),
            Some(&token),
        )
        .await;
    assert_eq!(b["seats"].as_array().unwrap().len(), 4);
    let r = app
        .send(
            Method::GET,
            &format!("/v1/schedules/{schedule}/seats?sector=B"),
            Some(&token),
        )
        .await;
    assert_problem(r, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;

    // Sections: totals and availability, rows, the concert's limit (the default, 4).
    app.order(
        &token,
        &json!({"schedule_id": schedule, "seat_nos": [1, 2]}),
    )
    .await;
    let (_, sections) = app
        .read(&format!("/v1/schedules/{schedule}/sections"), Some(&token))
        .await;
    assert_eq!(sections["max_tickets_per_user"], 4);
    let a = &sections["sections"][0];
    assert_eq!(
        (
            a["section"].as_str(),
            a["grade"].as_str(),
            a["price"].as_i64()
        ),
        (Some("A"), Some("VIP"), Some(150000))
    );
    assert_eq!(a["total"], 5);
    assert_eq!(
        a["rows"],
        json!([{"row": "1", "seats": 3}, {"row": "2", "seats": 2}])
    );
    // At most a second old: the hold just made shows within it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    loop {
        let (_, sections) = app
            .read(&format!("/v1/schedules/{schedule}/sections"), Some(&token))
            .await;
        if sections["sections"][0]["available"] == 3 {
            assert_eq!(sections["sections"][1]["available"], 4);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{sections}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_one_price_form_is_one_section_in_rows_of_fifty_and_gzips(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (_, schedule, token) = app.admitted(1, 120, 0).await;
    let (_, sections) = app
        .read(&format!("/v1/schedules/{schedule}/sections"), Some(&token))
        .await;
    assert_eq!(sections["sections"].as_array().unwrap().len(), 1);
    let ga = &sections["sections"][0];
    assert_eq!(
        (ga["section"].as_str(), ga["grade"].as_str()),
        (Some("GA"), Some("GENERAL"))
    );
    assert_eq!(
        ga["rows"],
        json!([{"row": "1", "seats": 50}, {"row": "2", "seats": 50}, {"row": "3", "seats": 20}])
    );
    let plain = app
        .get(&format!("/v1/schedules/{schedule}/seats"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["seats"][50]["row"], "2");
    assert_eq!(plain["seats"][50]["number"], 1);
    let zipped = app
        .get(&format!("/v1/schedules/{schedule}/seats"))
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn named_seats_are_held_all_or_nothing_released_and_paid_as_one(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule) = app.concert_on_venue(HALL, 1000, 4).await;
    let a = app.active_token(1, concert).await;
    let b = app.active_token(2, concert).await;
    app.charge(1, 10_000).await;

    let (status, order) = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [10, 9]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(seat_nos(&order), [9, 10]);
    assert_eq!(order["amount"], 2000);
    assert!(order.get("reservation_id").is_none(), "{order}");
    let until = &order["held_until"];
    assert!(order["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| &r["held_until"] == until
            && r["section"] == "B"
            && r["row"] == "1"
            && r["grade"] == "R"
            && r["status"] == "HELD"));
    // The same order again (its answer was lost): the same order, 200.
    let (status, again) = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [9, 10]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["order_id"], order["order_id"]);

    // B wants 10 and 11: 10 is taken, so nothing is held, and 11 stays free (no key left).
    let before = app.snapshot().await;
    let answer = app
        .order(&b, &json!({"schedule_id": schedule, "seat_nos": [11, 10]}))
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    assert_eq!(problem["seat_nos"], json!([10]));
    assert_eq!(app.snapshot().await, before);
    let mut redis = app.redis.clone();
    let key: Option<String> = redis
        .get(app.keys.hold(concert, schedule, 11))
        .await
        .unwrap();
    assert_eq!(key, None);
    // Bad forms: 400 / 404, nothing changes.
    for (body, status, code) in [
        (
            json!({"schedule_id": schedule}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "seat_no": 1, "seat_nos": [2]}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "seat_nos": []}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "seat_nos": [1, 1]}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "seat_nos": (1..=11).collect::<Vec<_>>()}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "best_available": {"count": 0}}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "best_available": {"count": 2, "grade": ""}}),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            json!({"schedule_id": schedule, "seat_nos": [1, 31]}),
            StatusCode::NOT_FOUND,
            "SEAT_NOT_FOUND",
        ),
    ] {
        let answer = app.order(&b, &body).await;
        assert_problem_body(answer, status, code);
    }
    assert_eq!(app.snapshot().await, before);

    // Paying part of the order is refused; paying the order pays both, once.
    let ids: Vec<&str> = order["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reservation_id"].as_str().unwrap())
        .collect();
    let answer = app.pay(&a, &ids[..1], "part").await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let both = json!({"reservation_ids": ids, "order_id": order["order_id"]});
    let answer = app
        .post_json("/v1/payments", Some(&a), Some("both-forms"), &both)
        .await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let pay = json!({"order_id": order["order_id"]});
    let (status, paid) = app
        .post_json("/v1/payments", Some(&a), Some("order-1"), &pay)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["amount"], 2000);
    assert_eq!(paid["reservation_ids"].as_array().unwrap().len(), 2);
    assert_eq!(app.balance(1).await, 8000);
    let (_, shown) = app
        .read(
            &format!("/v1/orders/{}", order["order_id"].as_str().unwrap()),
            Some(&b),
        )
        .await;
    assert_eq!(shown["code"], "FORBIDDEN");
    app.audit().await;

    // Another order released at once, by its id: both seats free, keys gone.
    let a2 = app.active_token(1, concert).await;
    let (status, second) = app
        .order(&a2, &json!({"schedule_id": schedule, "seat_nos": [1, 2]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let path = format!("/v1/orders/{}", second["order_id"].as_str().unwrap());
    let (status, shown) = app.read(&path, Some(&a2)).await;
    assert_eq!((status, seat_nos(&shown)), (StatusCode::OK, vec![1, 2]));
    let r = app.send(Method::DELETE, &path, Some(&b)).await;
    assert_problem(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = app.send(Method::DELETE, &path, Some(&a2)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.seat_status(&a2, schedule, 1).await, "AVAILABLE");
    assert_eq!(app.seat_status(&a2, schedule, 2).await, "AVAILABLE");
    let key: Option<String> = redis
        .get(app.keys.hold(concert, schedule, 2))
        .await
        .unwrap();
    assert_eq!(key, None);
    let (_, shown) = app.read(&path, Some(&a2)).await;
    assert!(shown["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "RELEASED"));
    // Releasing one reservation of an order releases the order.
    let (_, third) = app
        .order(&a2, &json!({"schedule_id": schedule, "seat_nos": [3, 4]}))
        .await;
    let one = third["reservations"][0]["reservation_id"].as_str().unwrap();
    assert_eq!(app.release(&a2, one).await, StatusCode::NO_CONTENT);
    assert_eq!(app.seat_status(&a2, schedule, 4).await, "AVAILABLE");
    let unknown = format!("/v1/orders/{}", uuid::Uuid::now_v7());
    let r = app.send(Method::DELETE, &unknown, Some(&a2)).await;
    assert_problem(r, StatusCode::NOT_FOUND, "RESERVATION_NOT_FOUND").await;
    // The one-seat form keeps its old answer, plus its order.
    let (status, single) = app.hold(&a2, schedule, 21).await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    assert_eq!(single["seat_no"], 21);
    assert_eq!(single["status"], "HELD");
    assert_eq!(single["order_id"], single["reservation_id"]);
    assert_eq!(single["reservations"][0]["section"], "C");
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn an_order_is_never_half_held_when_redis_keeps_or_loses_keys(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.holds.max_per_user = 10).await;
    let (concert, schedule) = app.concert_on_venue(HALL, 1000, 10).await;
    let a = app.active_token(1, concert).await;
    let b = app.active_token(2, concert).await;
    let mut redis = app.redis.clone();
    // A key left by a process that died between Redis and PostgreSQL: that seat is
    // refused, the others of the order are not held.
    let stale = app.keys.hold(concert, schedule, 6);
    let _: () = redis
        .set_ex(&stale, format!("{}:9", uuid::Uuid::now_v7()), 60)
        .await
        .unwrap();
    let answer = app
        .order(&b, &json!({"schedule_id": schedule, "seat_nos": [5, 6, 7]}))
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    assert_eq!(problem["seat_nos"], json!([6]));
    for seat in [5, 7] {
        let key: Option<String> = redis
            .get(app.keys.hold(concert, schedule, seat))
            .await
            .unwrap();
        assert_eq!(key, None, "seat {seat}");
    }
    // Best available steps around the stale key.
    let (status, best) = app
        .order(
            &b,
            &json!({"schedule_id": schedule, "best_available": {"count": 3, "section": "B"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{best}");
    assert!(!seat_nos(&best).contains(&6), "{best}");

    // Redis loses every key: PostgreSQL still refuses a seat held there, and nothing of
    // the order is held.
    let (status, held) = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [1, 2]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    for seat in [1, 2] {
        let _: () = redis
            .del(app.keys.hold(concert, schedule, seat))
            .await
            .unwrap();
    }
    let before = app.snapshot().await;
    let answer = app
        .order(&b, &json!({"schedule_id": schedule, "seat_nos": [2, 3]}))
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "SEAT_UNAVAILABLE");
    assert_eq!(problem["seat_nos"], json!([2]));
    assert_eq!(app.snapshot().await, before);
    let key: Option<String> = redis
        .get(app.keys.hold(concert, schedule, 3))
        .await
        .unwrap();
    assert_eq!(key, None, "the refused order's keys are released");
    // The holder asking again gets the order back from PostgreSQL.
    let (status, again) = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [1, 2]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["order_id"], held["order_id"]);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn best_available_picks_side_by_side_and_says_when_too_few_are_left(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.holds.max_per_user = 10).await;
    let (concert, schedule) = app.concert_on_venue(HALL, 1000, 10).await;
    let a = app.active_token(1, concert).await;
    // Seat 2 of A row 1 taken: a pair is A1 3-4, not 1 and 3.
    app.hold_id(&a, schedule, 2).await;
    let b = app.active_token(2, concert).await;
    let (status, pair) = app
        .order(
            &b,
            &json!({"schedule_id": schedule, "best_available": {"count": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    assert_eq!(seat_nos(&pair), [3, 4]);
    let (_, r) = app
        .order(
            &b,
            &json!({"schedule_id": schedule, "best_available": {"count": 3, "grade": "S"}}),
        )
        .await;
    assert_eq!(seat_nos(&r), [21, 22, 23], "{r}");
    let c3 = app.active_token(3, concert).await;
    let (_, r) = app
        .order(
            &c3,
            &json!({"schedule_id": schedule, "best_available": {"count": 4, "section": "B"}}),
        )
        .await;
    assert_eq!(seat_nos(&r), [9, 10, 11, 12], "{r}");
    // Section C has 7 left: 8 is too many (nothing held), and a grade nobody has is none.
    let before = app.snapshot().await;
    let d = app.active_token(4, concert).await;
    let answer = app
        .order(
            &d,
            &json!({"schedule_id": schedule, "best_available": {"count": 8, "section": "C"}}),
        )
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "NOT_ENOUGH_SEATS");
    assert_eq!(problem["available"], 7);
    let answer = app
        .order(
            &d,
            &json!({"schedule_id": schedule, "best_available": {"count": 1, "grade": "Z"}}),
        )
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "NOT_ENOUGH_SEATS");
    assert_eq!(problem["available"], 0);
    assert_eq!(app.snapshot().await, before);
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn buyers_asking_at_once_get_different_seats_side_by_side(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    // 10 rows of 20 seats: 100 pairs, asked for by 120 buyers at once.
    let rows: Vec<i64> = vec![20; 10];
    let (concert, schedule) = app.concert_on_venue(&[("F", "R", &rows)], 100, 4).await;
    let mut tokens = Vec::new();
    for user in 1..=120 {
        tokens.push(app.active_token(user, concert).await);
    }
    let body = json!({"schedule_id": schedule, "best_available": {"count": 2}});
    // A buyer told 503 (every seat left is being taken by others this very second) asks
    // again after its Retry-After, as the page and k6's storm do.
    let answers = futures::future::join_all(tokens.iter().map(|t| async {
        loop {
            let (status, answer) = app.order(t, &body).await;
            if status != StatusCode::SERVICE_UNAVAILABLE {
                return (status, answer);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }))
    .await;
    let mut seats = HashSet::new();
    let (mut held, mut refused, mut side_by_side) = (0, 0, 0);
    for (status, order) in &answers {
        match *status {
            StatusCode::CREATED => {
                held += 1;
                let r = order["reservations"].as_array().unwrap();
                assert_eq!(r.len(), 2);
                for seat in r {
                    assert!(
                        seats.insert(seat["seat_no"].as_i64().unwrap()),
                        "a seat twice: {order}"
                    );
                }
                if r[0]["row"] == r[1]["row"]
                    && r[1]["number"].as_i64().unwrap() == r[0]["number"].as_i64().unwrap() + 1
                {
                    side_by_side += 1;
                }
            }
            StatusCode::CONFLICT => {
                assert_eq!(order["code"], "NOT_ENOUGH_SEATS", "{order}");
                refused += 1;
            }
            other => panic!("{other}: {order}"),
        }
    }
    assert_eq!((held, refused), (100, 20));
    assert!(
        side_by_side >= 95,
        "{side_by_side} of 100 pairs side by side"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM seats WHERE schedule_id = {schedule} AND status = 'HELD'"
        ))
        .await,
        200
    );
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_ticket_limit_counts_held_and_bought_and_holds_under_parallel_holds(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.holds.max_per_user = 50).await;
    let (concert, schedule) = app.concert_on_venue(&[("F", "R", &[20, 20])], 100, 4).await;
    let a = app.active_token(1, concert).await;
    app.charge(1, 10_000).await;
    let (status, three) = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [1, 2, 3]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{three}");
    let before = app.snapshot().await;
    let answer = app
        .order(
            &a,
            &json!({"schedule_id": schedule, "best_available": {"count": 2}}),
        )
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "TICKET_LIMIT");
    assert_eq!(
        (problem["limit"].as_i64(), problem["owned"].as_i64()),
        (Some(4), Some(3))
    );
    assert_eq!(app.snapshot().await, before);
    let pay = json!({"order_id": three["order_id"]});
    let (status, _) = app
        .post_json("/v1/payments", Some(&a), Some("k1"), &pay)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Bought seats count too.
    let a = app.active_token(1, concert).await;
    let answer = app
        .order(&a, &json!({"schedule_id": schedule, "seat_nos": [10, 11]}))
        .await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "TICKET_LIMIT");
    assert_eq!(problem["owned"], 3);
    let (status, _) = app.hold(&a, schedule, 10).await;
    assert_eq!(status, StatusCode::CREATED);

    // Buyer 2 fires 20 holds at once (one-seat, pairs, best available): at most 4 end up held.
    let b = app.active_token(2, concert).await;
    let bodies: Vec<Value> = (0..20)
        .map(|i| match i % 3 {
            0 => json!({"schedule_id": schedule, "seat_no": 21 + i}),
            1 => json!({"schedule_id": schedule, "seat_nos": [21 + i, 22 + i]}),
            _ => json!({"schedule_id": schedule, "best_available": {"count": 2}}),
        })
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|body| app.order(&b, body))).await;
    let mut codes: HashMap<String, usize> = HashMap::new();
    for (status, body) in &answers {
        let code = if status.is_success() {
            "HELD".to_owned()
        } else {
            body["code"].as_str().unwrap_or("?").to_owned()
        };
        *codes.entry(code).or_default() += 1;
    }
    assert!(codes.contains_key("TICKET_LIMIT"), "{codes:?}");
    let held = app
        .scalar("SELECT count(*) FROM reservations WHERE user_id = 2 AND status = 'HELD'")
        .await;
    assert!((1..=4).contains(&held), "{held} held: {codes:?}");
    app.audit().await;
    app.stop().await;
}
