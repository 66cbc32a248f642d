//! The load-balancer path for real: nginx with `deploy/nginx.conf` (only its listen ports
//! changed) in front of two in-process gateways, a small sale through it, and proof from
//! nginx's own access log that both gateways served buyers; the operator routes and
//! metrics refused on the public listener and served on the internal one; a buyer's own
//! `X-User-Id` never passes nginx. Skipped with a note when nginx is not installed
//! (`scripts/test` installs it).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use testkit::http::buyer_request;
use testkit::nginx::Nginx;
use testkit::prelude::*;

#[tokio::test]
async fn a_sale_through_nginx_reaches_both_gateways() {
    let app = Stack::gateways_with(2, |_| {}).await;
    let Some(nginx) = Nginx::in_front_of(&app, "the load-balancer test").await else {
        return;
    };
    let gateways = app.gateway_addrs();
    let lb = nginx.url();
    let client = &app.client;

    // The public listener serves no operator route and no metrics; the internal one does.
    let get = |base: &str, path: &str| client.get(format!("{base}{path}")).send();
    for path in ["/admin/rooms/1", "/metrics", "/admin/concerts"] {
        let r = get(&lb, path).await.unwrap();
        assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let internal = nginx.internal_url();
    let r = get(&internal, "/admin/rooms/1").await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = get(&internal, "/metrics").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("http_requests_total"));
    let r = get(&internal, "/v1/queue/status").await.unwrap();
    assert_problem(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // A sale: join (admitted at once: the line is empty), status, a booking route, a
    // hold, a payment; every call with its own request id, echoed through nginx.
    let send = |method: Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let rid = format!("lb-{}", uuid::Uuid::new_v4().simple());
        let request = buyer_request(client, &lb, method, path, token, body.as_ref(), false);
        let request = request.header("X-Request-Id", &rid);
        async move {
            let response = request.send().await.expect("nginx answers");
            assert_eq!(
                response.headers()["x-request-id"].to_str().unwrap(),
                rid,
                "the request id comes back through nginx"
            );
            json_of(response).await
        }
    };
    let (status, joined) = send(
        Method::POST,
        "/v1/queue/tokens",
        None,
        Some(json!({"concert_id": 1, "user_id": 42})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["status"], "active", "{joined}");
    let token = joined["token"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let (status, body) = send(Method::GET, "/v1/queue/status", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) =
            send(Method::GET, "/v1/concerts/1/schedules", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["path"], "/v1/concerts/1/schedules", "reached booking");
    }
    let (status, body) = send(
        Method::POST,
        "/v1/reservations",
        Some(&token),
        Some(json!({"schedule_id": 1, "seat_no": 7})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["method"], "POST");
    let (status, paid) = send(
        Method::POST,
        "/v1/payments",
        Some(&token),
        Some(json!({"reservation_ids": ["00000000-0000-7000-8000-000000000000"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    // Paid: the admission is over, whichever gateway is asked.
    let (status, _) = send(Method::GET, "/v1/concerts/1/schedules", Some(&token), None).await;
    assert_eq!(status, StatusCode::GONE);

    // nginx's access log names the upstream of each request (`ua="host:port"`).
    let log = nginx.stop();
    let served_by = |addr: &str| {
        log.lines()
            .filter(|l| l.contains("rid=lb-") && l.contains(&format!("ua=\"{addr}\"")))
            .count()
    };
    for addr in &gateways {
        assert!(
            served_by(addr) > 0,
            "gateway {addr} served nothing through nginx:\n{log}"
        );
    }
    assert_eq!(
        gateways.iter().map(|a| served_by(a)).sum::<usize>(),
        log.lines().filter(|l| l.contains("rid=lb-")).count(),
        "every request went to one of the gateways:\n{log}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_buyer_cannot_pass_x_user_id_through_nginx() {
    // Identity mode `header`, nginx (127.0.0.1) trusted: exactly the set-up in which a
    // forwarded X-User-Id would be an identity.
    let app = Stack::gateways_with(1, |s| {
        s.identity.mode = gateway::settings::IdentityMode::Header;
        s.identity.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let gateway = app.url(0);
    let Some(nginx) = Nginx::in_front_of(&app, "the load-balancer test").await else {
        return;
    };
    let client = &app.client;
    let join = |base: String| {
        client
            .post(format!("{base}/v1/queue/tokens"))
            .header("X-User-Id", "42")
            .json(&json!({"concert_id": 1}))
            .send()
    };
    let r = join(nginx.url()).await.unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "IDENTITY_REQUIRED").await;
    // The same header straight from a trusted peer is an identity (the gateway would have
    // believed it).
    let (status, body) = json_of(join(gateway).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user_id"], 42, "{body}");
    let (_, room) = app.admin(Method::GET, 1, None).await;
    assert_eq!(
        room["last_seq"], 1,
        "the join through nginx took no ticket: {room}"
    );
    app.stop().await;
}
