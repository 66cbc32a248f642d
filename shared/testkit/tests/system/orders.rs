//! Orders through two gateways in front of the real booking service: a pair bought
//! together, a buyer firing 20 parallel holds through both gateways held to the ticket
//! limit, a stadium-size schedule's sections and gzipped seat list passed through.

use std::io::Read;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn parallel_holds_through_two_gateways_stay_within_the_ticket_limit(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full_with(pool(opts, c).await, 2, |_, bk| {
        bk.holds.max_per_user = 50;
    })
    .await;
    let (concert, schedule) = stack
        .concert_on_venue(&[("A", "VIP", &[10, 10]), ("B", "R", &[12, 12])], 1000, 4)
        .await;
    let joined = stack.join(0, concert, 77).await;
    assert_eq!(joined.state(), "active", "{}", joined.body);
    let token = joined.token;
    stack.charge_at(1, 77, 100_000).await;

    // 20 holds at once, alternating gateways and forms.
    let bodies: Vec<Value> = (0..20)
        .map(|i| match i % 3 {
            0 => json!({"schedule_id": schedule, "seat_no": 1 + i}),
            1 => json!({"schedule_id": schedule, "seat_nos": [21 + i, 22 + i]}),
            _ => json!({"schedule_id": schedule, "best_available": {"count": 2, "grade": "R"}}),
        })
        .collect();
    let answers = futures::future::join_all(bodies.into_iter().enumerate().map(|(i, body)| {
        let (stack, token) = (&stack, &token);
        async move {
            stack
                .call(
                    i % 2,
                    Method::POST,
                    "/v1/reservations",
                    Some(token),
                    Some(body),
                )
                .await
        }
    }))
    .await;
    let mut limited = 0;
    for (status, body) in &answers {
        assert!(status.as_u16() < 500, "{status}: {body}");
        if body["code"] == "TICKET_LIMIT" {
            assert_eq!(body["limit"], 4, "{body}");
            limited += 1;
        }
    }
    assert!(limited > 0, "{answers:?}");
    let held = stack
        .scalar("SELECT count(*) FROM reservations WHERE user_id = 77 AND status = 'HELD'")
        .await;
    assert!((1..=4).contains(&held), "{held} seats held");

    // Pay every order it holds, through the other gateway's token route: still at most 4.
    let orders: Vec<(uuid::Uuid,)> = sqlx::query_as(
        "SELECT DISTINCT order_id FROM reservations WHERE user_id = 77 AND status = 'HELD'",
    )
    .fetch_all(stack.db())
    .await
    .unwrap();
    let (status, paid) = stack
        .call(
            1,
            Method::POST,
            "/v1/payments",
            Some(&token),
            Some(json!({"order_id": orders[0].0})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let report = stack.audit().await;
    assert!(
        report.totals.sold_seats >= 1 && report.totals.sold_seats <= 4,
        "{report}"
    );
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_stadium_schedule_answers_its_sections_and_its_whole_seat_list_gzipped(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    // 100 sections x 10 rows x 100 seats: 100,000 seats, the most a venue may have.
    let rows: Vec<i64> = vec![100; 10];
    let names: Vec<String> = (1..=100).map(|i| format!("S{i:03}")).collect();
    let grades = ["VIP", "R", "S", "A"];
    let sections: Vec<(&str, &str, &[i64])> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.as_str(),
                grades[i * grades.len() / names.len()],
                &rows[..],
            )
        })
        .collect();
    let (concert, schedule) = stack.concert_on_venue(&sections, 1000, 4).await;
    // One seat more is refused.
    let mut over = sections.clone();
    let extra: &[i64] = &[1];
    over.push(("X", "A", extra));
    let layout: Vec<Value> = over
        .iter()
        .map(|(n, g, r)| {
            json!({"name": n, "grade": g, "rows": r.iter().enumerate()
            .map(|(i, s)| json!({"label": (i + 1).to_string(), "seats": s})).collect::<Vec<_>>()})
        })
        .collect();
    let answer = stack
        .post_venue(&json!({"name": "Too big", "sections": layout}))
        .await;
    assert_problem_body(answer, StatusCode::BAD_REQUEST, "INVALID_REQUEST");

    let joined = stack.join(0, concert, 5).await;
    let token = joined.token;
    let (status, map) = stack
        .call(
            0,
            Method::GET,
            &format!("/v1/schedules/{schedule}/sections"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{map}");
    assert_eq!(map["sections"].as_array().unwrap().len(), 100);
    let total: i64 = map["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["total"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 100_000);
    assert_eq!(map["sections"][0]["grade"], "VIP");
    assert_eq!(map["sections"][99]["grade"], "A");

    let zipped = stack
        .client
        .get(format!("{}/v1/schedules/{schedule}/seats", stack.url(0)))
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        bytes.len() * 5 < text.len(),
        "{} gzipped of {}",
        bytes.len(),
        text.len()
    );
    let seats: Value = serde_json::from_str(&text).unwrap();
    let seats = seats["seats"].as_array().unwrap();
    assert_eq!(seats.len(), 100_000);
    assert_eq!(seats[99_999]["section"], "S100");
    assert_eq!(
        (
            seats[99_999]["row"].as_str(),
            seats[99_999]["number"].as_i64()
        ),
        (Some("10"), Some(100))
    );
    let section = format!("/v1/schedules/{schedule}/seats?section=S050");
    let (status, one) = stack
        .call(0, Method::GET, &section, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["seats"].as_array().unwrap().len(), 1000);
    stack.stop().await;
}

/// `scripts/verify-ticket CODE JWKS`: the door's offline check.
fn verify_ticket(code: &str, jwks: &std::path::Path) -> (bool, String) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/verify-ticket");
    let output = std::process::Command::new("bash")
        .arg(script)
        .arg(code)
        .arg(jwks)
        .output()
        .expect("bash runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_door_verifies_a_ticket_offline_with_the_published_keys(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = Stack::full(pool(opts, c).await, 1).await;
    let (concert, schedule) = stack.concert_on_venue(&[("A", "VIP", &[5])], 700, 4).await;
    let joined = stack.join(0, concert, 31).await;
    stack.charge_at(0, 31, 10_000).await;
    let (status, held) = stack.hold_at(0, &joined.token, schedule, 4).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["reservation_id"].as_str().unwrap();
    let (status, paid) = stack.pay_at(0, &joined.token, &[id], None).await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let (status, list) = stack
        .call(0, Method::GET, "/v1/users/31/tickets", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let code = list["tickets"][0]["code"].as_str().unwrap().to_owned();
    let (status, jwks) = stack
        .call(0, Method::GET, "/v1/tickets/keys", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let file = std::env::temp_dir().join(format!("jwks-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&file, jwks.to_string()).unwrap();

    let (ok, out) = verify_ticket(&code, &file);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("ticket {id}")) && out.contains("seat 4") && out.contains("user 31"),
        "{out}"
    );
    // One character changed in the claims, or another key set: refused.
    let mut parts: Vec<String> = code.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let (ok, out) = verify_ticket(&parts.join("."), &file);
    assert!(!ok && out.starts_with("INVALID"), "{out}");
    let other = booking::tickets::signing::TicketKeys::new(
        "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
        "dev-1",
        "",
    )
    .unwrap();
    std::fs::write(&file, serde_json::to_string(&other.jwks()).unwrap()).unwrap();
    let (ok, out) = verify_ticket(&code, &file);
    assert!(!ok && out.contains("does not verify"), "{out}");
    std::fs::remove_file(&file).ok();
    stack.stop().await;
}
