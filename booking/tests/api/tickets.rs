//! Tickets: signed codes that verify with the published JWKS (checked here with an
//! independent JOSE library), the door's check-in exactly once under concurrent scans, a
//! buyer's cancellation (fee, refund once, idempotent, cut-off, the seat sells again), a
//! show cancelled by its operator (refunded in full once, resumable half-way).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use testkit::prelude::*;

/// Buyer `user` (charged 100,000) buys `seats` of `schedule` as one order; the tickets
/// as listed.
async fn buy(app: &Stack, concert: i64, schedule: i64, user: i64, seats: &[i64]) -> Vec<Value> {
    let token = app.active_token(user, concert).await;
    app.charge(user, 100_000).await;
    let (status, order) = app
        .order(&token, &json!({"schedule_id": schedule, "seat_nos": seats}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let pay = json!({"order_id": order["order_id"]});
    let key = uuid::Uuid::now_v7().to_string();
    let (status, paid) = app
        .post_json("/v1/payments", Some(&token), Some(&key), &pay)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    tickets(app, user).await
}

async fn tickets(app: &Stack, user: i64) -> Vec<Value> {
    let (status, list) = app.read(&format!("/v1/users/{user}/tickets"), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tickets"].as_array().unwrap().clone()
}

fn admin() -> String {
    secrecy::ExposeSecret::expose_secret(&booking_settings().admin.token).to_owned()
}

async fn check_in(app: &Stack, code: &str, token: &str) -> (StatusCode, Value) {
    app.post_json("/admin/checkins", Some(token), None, &json!({"code": code}))
        .await
}

async fn cancel(app: &Stack, user: i64, ticket: &str, key: &str) -> (StatusCode, Value) {
    let r = app
        .post(&format!("/v1/tickets/{ticket}/cancel"))
        .header("X-User-Id", user.to_string())
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap();
    json_of(r).await
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn codes_verify_with_the_jwks_and_a_door_checks_a_ticket_in_once(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| {
        s.door.token = Some("door-token-Kq8Wz3Rt6Vm1Xp9N".to_string().into());
    })
    .await;
    let (concert, schedule) = app
        .concert_on_venue(&[("A", "VIP", &[10]), ("B", "R", &[10])], 5000, 4)
        .await;
    let list = buy(&app, concert, schedule, 42, &[11, 12]).await;
    assert_eq!(list.len(), 2);
    let t = list.iter().find(|t| t["seat_no"] == 11).unwrap();
    assert_eq!(
        (
            t["status"].as_str(),
            t["section"].as_str(),
            t["grade"].as_str()
        ),
        (Some("VALID"), Some("B"), Some("R"))
    );
    assert_eq!(t["refund_if_cancelled"], 4500);

    // The code verifies with the JWKS alone, with another JOSE implementation.
    let (status, jwks) = app.read("/v1/tickets/keys", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            jwks["keys"][0]["kty"].as_str(),
            jwks["keys"][0]["crv"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"))
    );
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let code = t["code"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(code).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(
        code,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["tid"], t["ticket_id"]);
    assert_eq!(
        (
            claims["sch"].as_i64(),
            claims["seat"].as_i64(),
            claims["sub"].as_str()
        ),
        (Some(schedule), Some(11), Some("42"))
    );
    assert!(claims["iat"].is_i64());

    // Ten doors scan the same code at the same moment: one lets the buyer in.
    let door = "door-token-Kq8Wz3Rt6Vm1Xp9N";
    let scans = futures::future::join_all((0..10).map(|_| check_in(&app, code, door))).await;
    let firsts: Vec<&Value> = scans
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(firsts.len(), 1, "{scans:?}");
    assert_eq!(
        (
            firsts[0]["seat_no"].as_i64(),
            firsts[0]["section"].as_str(),
            firsts[0]["row"].as_str(),
            firsts[0]["number"].as_i64()
        ),
        (Some(11), Some("B"), Some("1"), Some(1))
    );
    for (status, body) in scans.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("ALREADY_CHECKED_IN")),
            "{body}"
        );
        assert_eq!(body["checked_in_at"], firsts[0]["checked_in_at"]);
    }
    let now = tickets(&app, 42).await;
    assert_eq!(
        now.iter().find(|t| t["seat_no"] == 11).unwrap()["status"],
        "CHECKED_IN"
    );
    // The admin token opens the door too; nothing else does.
    let other = list.iter().find(|t| t["seat_no"] == 12).unwrap();
    let (status, _) = check_in(&app, other["code"].as_str().unwrap(), &admin()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = check_in(&app, code, "wrong-token").await;
    assert_problem_body(answer, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    // Forged, foreign-key and garbage codes: 400 INVALID_TICKET, nothing changes.
    let parts: Vec<&str> = code.split('.').collect();
    let other = base64_url(
        &json!({"tid": t["ticket_id"], "sch": schedule, "seat": 1, "sub": "42", "iat": 1}),
    );
    let forged = format!("{}.{other}.{}", parts[0], parts[2]);
    let stranger = booking::tickets::signing::TicketKeys::new(
        "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
        "dev-1",
        "",
    )
    .unwrap();
    let foreign = stranger.sign(&serde_json::from_value(claims.clone()).unwrap());
    let unknown_kid = booking::tickets::signing::TicketKeys::new(
        "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
        "other",
        "",
    )
    .unwrap()
    .sign(&serde_json::from_value(claims.clone()).unwrap());
    let before = app.snapshot().await;
    for bad in [
        forged.as_str(),
        foreign.as_str(),
        unknown_kid.as_str(),
        "garbage",
        "",
    ] {
        let answer = check_in(&app, bad, door).await;
        assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_TICKET");
    }
    // The doors and operators reach booking directly: no internal token needed there.
    let direct = reqwest::Client::new()
        .post(format!("{}/admin/checkins", app.booking_url()))
        .bearer_auth(door)
        .json(&json!({"code": "garbage"}))
        .send()
        .await
        .unwrap();
    assert_problem(direct, StatusCode::BAD_REQUEST, "INVALID_TICKET").await;
    let direct = reqwest::Client::new()
        .get(format!("{}/admin/schedules/{schedule}", app.booking_url()))
        .bearer_auth(admin())
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    let answer = app
        .post_json(
            "/admin/checkins",
            Some(door),
            None,
            &json!({"code": code, "x": 1}),
        )
        .await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    assert_eq!(app.snapshot().await, before);
    // A checked-in ticket cannot be cancelled.
    let answer = cancel(&app, 42, t["ticket_id"].as_str().unwrap(), "c-1").await;
    assert_problem_body(answer, StatusCode::CONFLICT, "ALREADY_CHECKED_IN");
    app.audit().await;
    app.stop().await;
}

fn base64_url(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_buyer_cancels_for_a_refund_once_until_the_cut_off_and_the_seat_sells_again(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule) = app.concert_with(20, 1999).await;
    let list = buy(&app, concert, schedule, 7, &[3, 4]).await;
    let ticket = list.iter().find(|t| t["seat_no"] == 3).unwrap();
    let id = ticket["ticket_id"].as_str().unwrap();
    let balance = app.balance(7).await;

    // Somebody else's ticket is not found; nor is a reservation that is not a ticket.
    let answer = cancel(&app, 8, id, "k").await;
    assert_problem_body(answer, StatusCode::NOT_FOUND, "TICKET_NOT_FOUND");
    let r = app
        .post(&format!("/v1/tickets/{id}/cancel"))
        .header("X-User-Id", "7")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "INVALID_REQUEST").await;

    // Fee: floor(1999 * 10 / 100) = 199; refund 1800.
    let (status, first) = cancel(&app, 7, id, "cancel-1").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (first["refund"].as_i64(), first["fee"].as_i64()),
        (Some(1800), Some(199))
    );
    assert_eq!(first["balance"].as_i64(), Some(balance + 1800));
    // A replay answers the same and refunds nothing more; a new key is told it is cancelled.
    let (status, again) = cancel(&app, 7, id, "cancel-1").await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let answer = cancel(&app, 7, id, "cancel-2").await;
    assert_problem_body(answer, StatusCode::CONFLICT, "TICKET_CANCELLED");
    assert_eq!(app.balance(7).await, balance + 1800);
    let history = app.read("/v1/users/7/points/history", None).await.1;
    assert_eq!(history["items"][0]["kind"], "REFUND");
    assert_eq!(history["items"][0]["amount"], 1800);
    let listed = tickets(&app, 7).await;
    let cancelled = listed.iter().find(|t| t["seat_no"] == 3).unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert!(cancelled["refund_if_cancelled"].is_null());
    // The door refuses it.
    let answer = check_in(&app, cancelled["code"].as_str().unwrap(), &admin()).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "TICKET_CANCELLED");

    // The seat sells again at once (its sold marker is gone from Redis).
    let other = app.active_token(9, concert).await;
    let (status, held) = app.hold(&other, schedule, 3).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");

    // Past cancel_until: 409 CANCEL_CLOSED, nothing changes.
    let starts = chrono::Utc::now() + chrono::Duration::days(2);
    let (status, late) = app
        .post_concert(
            &json!({"title": "Soon", "schedules": [{"starts_at": starts, "seats": 5,
            "price": 1000, "cancel_until": chrono::Utc::now() + chrono::Duration::seconds(2)}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    let (late_concert, late_schedule) = (
        late["concert_id"].as_i64().unwrap(),
        late["schedule_ids"][0].as_i64().unwrap(),
    );
    let list = buy(&app, late_concert, late_schedule, 11, &[1]).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let before = app.snapshot().await;
    let answer = cancel(&app, 11, list[0]["ticket_id"].as_str().unwrap(), "late").await;
    let problem = assert_problem_body(answer, StatusCode::CONFLICT, "CANCEL_CLOSED");
    assert!(problem["cancel_until"].is_string());
    assert_eq!(app.snapshot().await, before);
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_cancelled_show_stops_selling_and_refunds_every_ticket_in_full_once(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking_with(pool(opts, c).await, |s| s.tickets.refund_batch = 7).await;
    let (concert, schedule) = app.concert_with(60, 1000).await;
    let mut balances = Vec::new();
    for user in 1..=10 {
        let seats: Vec<i64> = (1..=3).map(|k| (user - 1) * 3 + k).collect();
        buy(&app, concert, schedule, user, &seats).await;
        balances.push(app.balance(user).await);
    }
    // A hold still running when the show is cancelled is let go.
    let late = app.active_token(50, concert).await;
    let held = app.hold_id(&late, schedule, 40).await;
    let path = format!("/admin/schedules/{schedule}");
    let r = app
        .send(Method::POST, &format!("{path}/cancel"), Some(&admin()))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // It sells nothing from now on.
    let answer = app.hold(&late, schedule, 41).await;
    assert_problem_body(answer, StatusCode::CONFLICT, "SCHEDULE_CLOSED");
    let answer = app.pay(&late, &[&held], "late-pay").await;
    assert_problem_body(answer, StatusCode::CONFLICT, "RESERVATION_NOT_HELD");

    let deadline = Instant::now() + Duration::from_secs(20);
    let view = loop {
        let (_, view) = app.read(&path, Some(&admin())).await;
        if view["to_refund"] == 0 && view["refunded"] == 30 {
            break view;
        }
        assert!(Instant::now() < deadline, "{view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(view["cancelled"], true);
    for user in 1..=10 {
        assert_eq!(
            app.balance(user).await,
            balances[user as usize - 1] + 3000,
            "user {user}"
        );
        assert!(tickets(&app, user)
            .await
            .iter()
            .all(|t| t["status"] == "CANCELLED"));
    }
    // Cancelling again changes nothing.
    let before = app.snapshot().await;
    let r = app
        .send(Method::POST, &format!("{path}/cancel"), Some(&admin()))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(app.snapshot().await, before);
    let r = app
        .send(
            Method::POST,
            "/admin/schedules/999999/cancel",
            Some(&admin()),
        )
        .await;
    assert_problem(r, StatusCode::NOT_FOUND, "SCHEDULE_NOT_FOUND").await;
    app.audit().await;
    app.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_show_refund_stopped_half_way_resumes_and_refunds_each_ticket_once(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let app = Stack::booking(pool(opts, c).await).await;
    let (concert, schedule) = app.concert_with(40, 500).await;
    for user in 1..=8 {
        let seats: Vec<i64> = (1..=4).map(|k| (user - 1) * 4 + k).collect();
        buy(&app, concert, schedule, user, &seats).await;
    }
    let db = app.db().clone();
    // Stop the service (its worker with it), then cancel and refund one batch by hand: a
    // booking killed after its first refund transaction.
    app.stop().await;
    let mut tx = db.begin().await.unwrap();
    assert!(booking::tickets::store::cancel_show(&mut tx, schedule)
        .await
        .unwrap());
    assert_eq!(
        booking::tickets::store::refund_show_batch(&mut tx, schedule, 10)
            .await
            .unwrap(),
        10
    );
    tx.commit().await.unwrap();
    // A new process resumes from what PostgreSQL says.
    let refunded = booking::tickets::refunds::pass(&db, 4, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(refunded, 22);
    assert_eq!(
        booking::tickets::refunds::pass(&db, 4, Duration::ZERO)
            .await
            .unwrap(),
        0
    );
    let refunds: i64 =
        sqlx::query_scalar("SELECT count(*) FROM point_history WHERE kind = 'REFUND'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(refunds, 32);
    let done: bool =
        sqlx::query_scalar("SELECT refunds_done_at IS NOT NULL FROM schedules WHERE id = $1")
            .bind(schedule)
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(done);
    let report = booking::audit::run(&db).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.totals.refunds, 32 * 500);
}
