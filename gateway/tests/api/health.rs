//! Probes and metrics.

use reqwest::{Method, StatusCode};

use testkit::prelude::*;

#[tokio::test]
async fn healthz_and_readyz_answer_when_dependencies_are_up() {
    let app = Stack::gateways(1).await;
    let r = app.request(0, Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = json_of(app.request(0, Method::GET, "/readyz", None, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["redis"], "ok");
    assert_eq!(body["checks"]["booking"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_joins() {
    let app = Stack::gateways(1).await;
    app.join(0, 1, 1).await;
    let r = app.request(0, Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("queue_joins_total"), "{text}");
    app.stop().await;
}
