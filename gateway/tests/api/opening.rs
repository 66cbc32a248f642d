//! The sale's opening across two gateways: joins before the pre-queue window are refused,
//! joins inside it get one pre-queue entry each, and at `opens_at` one draw puts the whole
//! pre-queue in line in the order the seed gives — a permutation of the first places,
//! ahead of everyone who joins later, checkable by anyone (`scripts/verify-draw`), also
//! when the instance writing it dies half-way.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use gateway::line::DrawStart;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use testkit::prelude::*;

const PREQUEUED: i64 = 10_000;

fn at(secs_from_now: f64) -> String {
    let at = Utc::now() + chrono::Duration::milliseconds((secs_from_now * 1000.0) as i64);
    at.to_rfc3339()
}

async fn two_gateways() -> Arc<Stack> {
    Arc::new(
        Stack::gateways_with(2, |s| {
            set_queue(s, 100_000, 1_000, 100);
            s.rate_limit.user_joins_per_sec = 0;
        })
        .await,
    )
}

async fn public(app: &Stack, path: &str) -> (StatusCode, Value) {
    app.call(0, Method::GET, path, None, None).await
}

/// Joins users `users` through both gateways, `concurrency` at a time; returns their tokens
/// by user.
async fn join_all(
    app: &Arc<Stack>,
    concert: i64,
    users: std::ops::RangeInclusive<i64>,
) -> Vec<(i64, String, Value)> {
    stream::iter(users)
        .map(|user| {
            let app = app.clone();
            async move {
                let t = app.join((user % 2) as usize, concert, user).await;
                (user, t.token, t.body)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await
}

async fn wait_drawn(app: &Stack, concert: i64) -> Value {
    poll_until(Duration::from_secs(60), "the draw", || async {
        let (status, room) = app.public_room(concert).await;
        assert_eq!(status, StatusCode::OK, "{room}");
        (room["draw_state"] == "drawn").then_some(room)
    })
    .await
}

/// The whole drawn order, page by page.
async fn draw_entries(app: &Stack, concert: i64) -> (Value, Vec<String>) {
    let mut entries = Vec::new();
    let mut offset = Some(0);
    let mut first = Value::Null;
    while let Some(at) = offset {
        let (status, page) = public(
            app,
            &format!("/v1/rooms/{concert}/draw?offset={at}&limit=3000"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        entries.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned()),
        );
        offset = page["next_offset"].as_u64();
        if first.is_null() {
            first = page;
        }
    }
    (first, entries)
}

async fn verify_draw(app: &Stack, concert: i64, extra: &[&str]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/verify-draw");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(concert.to_string())
        .arg(app.url(0))
        .args(extra)
        .output()
        .await
        .expect("python3 runs scripts/verify-draw");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

#[tokio::test]
async fn ten_thousand_prequeued_buyers_get_one_drawn_permutation_ahead_of_later_joiners() {
    let app = two_gateways().await;
    let concert = 1;

    // Scheduled far ahead with a short window: too early to join.
    let room = app
        .configure(
            concert,
            json!({"opens_at": at(3_600.0), "prequeue_secs": 60, "mode": "queue_all"}),
        )
        .await;
    let commitment = room["draw"]["seed_sha256"].as_str().unwrap().to_owned();
    assert_eq!(commitment.len(), 64);
    assert!(room["draw"]["seed"].is_null(), "{room}");
    let r = app.post_token(1, concert, 1, None).await;
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3_400..=3_541).contains(&retry_after), "{retry_after}");
    let body = assert_problem(r, StatusCode::CONFLICT, "QUEUE_NOT_OPEN").await;
    assert!(
        body["opens_at"].is_string() && body["prequeue_opens_at"].is_string(),
        "{body}"
    );
    let (_, public_room) = app.public_room(concert).await;
    assert_eq!(public_room["seed_sha256"], commitment.as_str());
    assert!(public_room["seed"].is_null());
    let (status, _) = public(&app, &format!("/v1/rooms/{concert}/draw")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The window opens: 10,000 buyers through both gateways, each with one entry.
    app.configure(concert, json!({"prequeue_secs": 7_200}))
        .await;
    let joined = join_all(&app, concert, 1..=PREQUEUED).await;
    for (_, _, body) in &joined {
        assert_eq!(body["status"], "prequeue", "{body}");
        assert!(
            body["position"].is_null() && body["opens_at"].is_string(),
            "{body}"
        );
    }
    let again = app.join(0, concert, 17).await;
    assert_eq!((again.status, again.state()), (StatusCode::OK, "prequeue"));
    let body = assert_problem_body(
        app.call(
            0,
            Method::GET,
            "/v1/concerts/1/schedules",
            Some(&again.token),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "NOT_ADMITTED",
    );
    assert_eq!(body["ticket_status"], "prequeue");
    let (_, room) = app.admin(Method::GET, concert, None).await;
    assert_eq!(room["draw"]["state"], "scheduled");
    assert_eq!(room["draw"]["entries"], PREQUEUED);

    // The opening: both gateways' tickers see it; one draw is written.
    app.configure(concert, json!({"opens_at": at(1.0)})).await;
    let room = wait_drawn(&app, concert).await;
    let seed = room["seed"].as_str().unwrap().to_owned();
    assert_eq!(
        shared::draw::seed_sha256(&shared::draw::parse_seed(&seed).unwrap()),
        commitment
    );

    // Later joiners queue behind every drawn entry, in join order.
    let later: Vec<_> = join_all(&app, concert, PREQUEUED + 1..=PREQUEUED + 5).await;
    let mut later_positions: Vec<(i64, u64)> = later
        .iter()
        .map(|(u, _, b)| (*u, b["position"].as_u64().unwrap()))
        .collect();
    later_positions.sort();
    let positions: Vec<u64> = later_positions.iter().map(|(_, p)| *p).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert!(sorted[0] > PREQUEUED as u64, "{later_positions:?}");
    assert_eq!(
        sorted,
        (PREQUEUED as u64 + 1..=PREQUEUED as u64 + 5).collect::<Vec<_>>()
    );

    // Every pre-queued buyer has exactly one place; the places are 1..=10,000, in the
    // order the seed gives, and each buyer finds theirs in the published list.
    let (page, entries) = draw_entries(&app, concert).await;
    assert_eq!(page["total"], PREQUEUED);
    assert_eq!(page["seed"], seed.as_str());
    let users: Vec<i64> = (1..=PREQUEUED).collect();
    let expected = shared::draw::order(&shared::draw::parse_seed(&seed).unwrap(), concert, &users);
    let expected_ids: Vec<String> = expected
        .iter()
        .map(|&u| shared::draw::entry_id(concert, u))
        .collect();
    assert_eq!(entries, expected_ids, "the published order is the seed's");
    let places: Vec<(i64, u64)> = stream::iter(joined.clone())
        .map(|(user, token, _)| {
            let app = app.clone();
            async move {
                let (status, body) = app.status((user % 2) as usize, &token).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["status"], "waiting", "{body}");
                let fresh = app.tokens.verify(body["token"].as_str().unwrap()).unwrap();
                assert!(fresh.seq > 0, "the drawn ticket's token carries its number");
                (user, body["position"].as_u64().unwrap())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let distinct: HashSet<u64> = places.iter().map(|(_, p)| *p).collect();
    assert_eq!(distinct, (1..=PREQUEUED as u64).collect::<HashSet<_>>());
    for (user, place) in &places {
        assert_eq!(
            entries[(*place - 1) as usize],
            shared::draw::entry_id(concert, *user)
        );
    }

    // Anyone can check it from the public answers; a buyer finds their place.
    let (ok, out) = verify_draw(
        &app,
        concert,
        &["--expect-sha256", &commitment, "--user", "17"],
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(out.lines().last(), Some("match"), "{out}");
    let place17 = places.iter().find(|(u, _)| *u == 17).unwrap().1;
    assert!(
        out.contains(&format!("place {place17} of {PREQUEUED}")),
        "{out}"
    );
    let (ok, out) = verify_draw(&app, concert, &["--expect-sha256", &"0".repeat(64)]).await;
    assert!(!ok && out.lines().last() == Some("mismatch"), "{out}");

    // The opening is history now.
    let (status, body) = app
        .admin(Method::PUT, concert, Some(json!({"opens_at": at(60.0)})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Admission resumes in drawn order.
    app.configure(
        concert,
        json!({"mode": "open", "batch_size": 3, "tick_ms": 50}),
    )
    .await;
    let first = expected[0];
    let token = &joined.iter().find(|(u, _, _)| *u == first).unwrap().1;
    app.wait_active(token, Duration::from_secs(10)).await;
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn a_draw_whose_writer_dies_half_way_is_finished_by_another_instance() {
    let app = two_gateways().await;
    let concert = 2;
    app.configure(
        concert,
        json!({"opens_at": at(30.0), "prequeue_secs": 600, "mode": "queue_all"}),
    )
    .await;
    join_all(&app, concert, 1..=12_000).await;
    app.configure(concert, json!({"opens_at": at(1.0)})).await;

    // A writer that claimed the draw at the very opening, writes one chunk and dies: its
    // lease (as draw_begin.lua records it) outlives the opening by two seconds.
    let opens_at: DateTime<Utc> = app.room(0, concert).await["opens_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let lease_until = opens_at.timestamp_millis() + 2_000;
    let _: () = redis::cmd("HSET")
        .arg(app.keys.room(concert))
        .arg("draw_owner")
        .arg("doomed")
        .arg("draw_lease_ms")
        .arg(lease_until)
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    let store = app.store();
    let frozen = poll_until(Duration::from_secs(10), "the opening", || async {
        match store
            .draw_begin(concert, "doomed", 2_000, true)
            .await
            .unwrap()
        {
            DrawStart::Go(frozen) => Some(frozen),
            DrawStart::NotYet => None,
            other => panic!("the doomed writer holds the lease: {other:?}"),
        }
    })
    .await;
    assert_eq!(frozen.entries, 12_000);
    let users: Vec<i64> = store.prequeue_chunk(concert, 0, 20_000).await.unwrap();
    let order = shared::draw::order(&frozen.seed.unwrap(), concert, &users);
    store
        .draw_write(concert, "doomed", 0, 2_000, &order[..5_000])
        .await
        .unwrap();

    // The gateways find the draw busy until the lease runs out, then finish it.
    let draw = app.room(0, concert).await["draw"].clone();
    assert_eq!(
        (draw["state"].as_str(), draw["placed"].as_u64()),
        (Some("drawing"), Some(5_000)),
        "{draw}"
    );
    wait_drawn(&app, concert).await;
    let (_, entries) = draw_entries(&app, concert).await;
    let expected: Vec<String> = order
        .iter()
        .map(|&u| shared::draw::entry_id(concert, u))
        .collect();
    assert_eq!(entries, expected, "one draw, whoever wrote it");
    assert_eq!(app.waiting_len(concert).await, 12_000);
    let (ok, out) = verify_draw(&app, concert, &[]).await;
    assert!(ok, "{out}");
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn a_prequeue_entry_is_one_per_user_and_can_be_left_before_the_opening() {
    let app = two_gateways().await;
    let concert = 3;
    app.configure(
        concert,
        json!({"opens_at": at(600.0), "prequeue_secs": 900}),
    )
    .await;
    let first = app.join(0, concert, 5).await;
    assert_eq!(
        (first.status, first.state()),
        (StatusCode::CREATED, "prequeue")
    );
    let claims = first.claims(&app);
    assert_eq!((claims.seq, claims.st.as_str()), (0, "prequeue"));
    let opens_at: DateTime<Utc> = first.body["opens_at"].as_str().unwrap().parse().unwrap();
    assert!(opens_at > Utc::now());
    let eta = first.body["eta_seconds"].as_u64().unwrap();
    assert!(
        (590..=600).contains(&eta),
        "the time until the opening: {eta}"
    );
    let again = app.join(1, concert, 5).await;
    assert_eq!((again.status, again.state()), (StatusCode::OK, "prequeue"));
    let (status, body) = app.status(1, &first.token).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("prequeue"))
    );
    poll_until(Duration::from_secs(5), "the entry counted", || async {
        let (_, room) = app.public_room(concert).await;
        (room["waiting"] == 1).then_some(())
    })
    .await;

    // Leaving empties the entry; the token is then gone.
    assert_eq!(app.leave(0, &first.token).await, StatusCode::NO_CONTENT);
    let (status, _) = app.status(0, &first.token).await;
    assert_eq!(status, StatusCode::GONE);
    poll_until(Duration::from_secs(5), "the entry gone", || async {
        let (_, room) = app.public_room(concert).await;
        (room["waiting"] == 0).then_some(())
    })
    .await;

    // Operators cannot set an opening in the past, nor remove one whose window is open.
    let (status, _) = app
        .admin(Method::PUT, concert, Some(json!({"opens_at": at(-5.0)})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(Method::PUT, concert, Some(json!({"opens_at": null})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A room without an opening has no draw.
    assert_problem_body(
        public(&app, "/v1/rooms/1/draw").await,
        StatusCode::NOT_FOUND,
        "NO_DRAW",
    );
    let (status, _) = public(&app, "/v1/rooms/999/draw").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = public(&app, "/v1/rooms/3/draw?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Arc::into_inner(app).unwrap().stop().await;
}
