//! Status polls answered from the instance's memory (`admission::positions`): positions
//! stay right, a buyer who left gets 410, and a buyer who became active sees `active`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shared::token::TicketStatus;

use testkit::metrics::value;
use testkit::prelude::*;

/// `queue_status_total{source="memory"}` of instance `i` (process-wide counter).
async fn memory_polls(app: &Stack, i: usize) -> u64 {
    let text = app.metrics(i).await;
    value(&text, "queue_status_total", &[("source", "memory")]) as u64
}

#[tokio::test]
async fn far_back_polls_are_answered_from_memory_with_exact_positions() {
    // One slot, taken by the first buyer for the whole test: nobody else is admitted, so
    // positions stay put; a short tick keeps each instance's snapshot fresh (a poll is
    // answered from memory only from a snapshot at most a second old, which a loaded
    // machine missed with a 1 s tick).
    let app = Stack::gateways_with(2, |s| set_queue(s, 1, 1, 200)).await;
    assert_eq!(app.join(0, 1, 1000).await.state(), "active");
    let mut tickets = Vec::new();
    for user in 1..=200u64 {
        let t = app.join(0, 1, user as i64).await;
        assert_eq!(t.position(), user);
        tickets.push(t);
    }
    // Wait until instance 1's figures include the whole line (a far-back poll is then
    // answered from memory).
    let last = tickets.last().unwrap().token.clone();
    poll_until(
        Duration::from_secs(3),
        "a poll answered from memory",
        || async {
            let before = memory_polls(&app, 1).await;
            let (status, body) = app.status(1, &last).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["position"], 200);
            (memory_polls(&app, 1).await > before).then_some(())
        },
    )
    .await;

    let before = memory_polls(&app, 0).await;
    for instance in 0..2 {
        for (i, t) in tickets.iter().enumerate() {
            let (status, body) = app.status(instance, &t.token).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["status"], "waiting");
            assert_eq!(body["position"], i as u64 + 1, "user {}", i + 1);
            assert_eq!(
                body["token"],
                t.token.as_str(),
                "the token still says the truth"
            );
        }
    }
    assert!(
        memory_polls(&app, 0).await >= before + 100,
        "far-back polls did not come from memory"
    );

    // A buyer who leaves is gone at once on the instance that saw the leave, and within a
    // refresh on the other one; buyers behind see at most one place too many.
    let leaver = &tickets[149];
    assert_eq!(app.leave(0, &leaver.token).await, StatusCode::NO_CONTENT);
    let (status, body) = app.status(0, &leaver.token).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    poll_until(
        Duration::from_secs(2),
        "the leave seen by instance 1",
        || async { (app.status(1, &leaver.token).await.0 == StatusCode::GONE).then_some(()) },
    )
    .await;
    for (i, t) in tickets.iter().enumerate().skip(150) {
        let (_, body) = app.status(1, &t.token).await;
        let position = body["position"].as_u64().unwrap();
        assert!(
            position == i as u64 || position == i as u64 + 1,
            "user {} at {position}",
            i + 1
        );
    }

    // Everyone admitted: a far-back waiting token must now see `active` and get an
    // active token, whichever instance answers.
    app.configure(1, json!({"capacity": 1000, "batch_size": 1000}))
        .await;
    let far = &tickets[179];
    for instance in 0..2 {
        let body = poll_until(
            Duration::from_secs(5),
            "the far-back buyer active",
            || async {
                let (status, body) = app.status(instance, &far.token).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                (body["status"] == "active").then_some(body)
            },
        )
        .await;
        assert_eq!(body["position"], 0);
        let claims = app.tokens.verify(body["token"].as_str().unwrap()).unwrap();
        assert_eq!(claims.st, TicketStatus::Active);
    }
    app.stop().await;
}

/// An admitted token's poll comes from memory ("active until the token's expiry") — until
/// the admission ends early: a leave (here) or a payment (booking's end of admission, the
/// same script) is recorded in the room's ended list, and every instance stops calling the
/// ticket active within a refresh.
#[tokio::test]
async fn admitted_polls_come_from_memory_until_the_admission_ends() {
    let app = Stack::gateways_with(2, |s| set_queue(s, 10, 10, 100)).await;
    let admitted = app.join(0, 1, 7).await;
    assert_eq!(admitted.state(), "active");
    // Instance 1 answers from memory once its figures and ended list are fresh.
    poll_until(
        Duration::from_secs(3),
        "an admitted poll answered from memory",
        || async {
            let before = memory_polls(&app, 1).await;
            let (status, body) = app.status(1, &admitted.token).await;
            assert_eq!(
                (status, body["status"].as_str()),
                (StatusCode::OK, Some("active"))
            );
            assert_eq!(body["token"], admitted.token.as_str(), "the same token");
            (memory_polls(&app, 1).await > before).then_some(())
        },
    )
    .await;
    // The admission is given up through instance 0 (the end-of-admission path).
    let ended = app
        .store()
        .end_admission(1, 7, admitted.claims(&app).seq)
        .await
        .unwrap();
    assert!(ended);
    for instance in 0..2 {
        poll_until(Duration::from_secs(2), "the end seen", || async {
            (app.status(instance, &admitted.token).await.0 == StatusCode::GONE).then_some(())
        })
        .await;
    }
    app.stop().await;
}
