//! Responses and waiting, the way the tests use them.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header;
use reqwest::StatusCode;
use serde_json::Value;

use crate::sse::SseEvent;

/// The status and JSON body of a response (`Null` when the body is not JSON).
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// `method base+path` on `client` as a buyer's client sends it: `token` as the bearer, and a
/// JSON `body` with a fresh `Idempotency-Key` (`keyed`: for the routes that want one) when
/// given; the request, to send.
pub fn buyer_request(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    keyed: bool,
) -> reqwest::RequestBuilder {
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        if keyed {
            request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        }
        request = request.json(body);
    }
    request
}

/// The one content type of a problem answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What is wrong with an answer expected to be a problem of `status` with `code`, or `None`
/// when it is one: the answer's status (`got`) is `status`; its content type, when the caller
/// has one (`content_type`; `None` only where no header is available, as in an SSE event), is
/// `application/problem+json`; the body is an RFC 9457 problem as the services write it — a
/// string `type` and `title`, `status` equal to the status (a pre-queued ticket's
/// `NOT_ADMITTED` puts its ticket state there instead), and `code`. Every `assert_problem*`
/// helper checks through this; the bad-input catalogue calls it directly to collect every
/// failing case before it fails.
pub fn problem_mismatch(
    got: StatusCode,
    content_type: Option<&str>,
    body: &Value,
    status: StatusCode,
    code: &str,
) -> Option<String> {
    let mut wrong = Vec::new();
    if got != status {
        wrong.push(format!("status {got}, expected {status}"));
    }
    if let Some(content_type) = content_type.filter(|c| *c != PROBLEM_JSON) {
        wrong.push(format!(
            "content type {content_type:?}, expected {PROBLEM_JSON}"
        ));
    }
    if body["code"] != code {
        wrong.push(format!("code {}, expected {code}", body["code"]));
    }
    if body["status"] != status.as_u16() {
        wrong.push(format!(
            "body status {}, expected {}",
            body["status"],
            status.as_u16()
        ));
    }
    if !(body["type"].is_string() && body["title"].is_string()) {
        wrong.push("no string `type` and `title`".to_owned());
    }
    (!wrong.is_empty()).then(|| format!("{}: {body}", wrong.join("; ")))
}

/// Asserts `response` is a problem of `status` with `code` (status, problem+json content type
/// and body, as [`problem_mismatch`] checks); returns its body for further checks.
pub async fn assert_problem(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let got = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)").to_owned())
        .unwrap_or_default();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    if let Some(wrong) = problem_mismatch(got, Some(&content_type), &body, status, code) {
        panic!("not a {status} {code} problem: {wrong}");
    }
    body
}

/// Asserts an answer already read — its status and JSON body, as [`json_of`] and the stack's
/// helpers (`hold`, `pay`, `call`, ...) return them — is a problem of `status` with `code`
/// (status and body, as [`problem_mismatch`] checks; the content type is no longer there to
/// check: use [`assert_problem`] where the test has the response); returns the body.
#[track_caller]
pub fn assert_problem_body(answer: (StatusCode, Value), status: StatusCode, code: &str) -> Value {
    let (got, body) = answer;
    if let Some(wrong) = problem_mismatch(got, None, &body, status, code) {
        panic!("not a {status} {code} problem: {wrong}");
    }
    body
}

/// Asserts a push-stream event is the `name` event whose data is a problem of `status` with
/// `code` (the body, as [`problem_mismatch`] checks; an event has no status or content type
/// of its own); returns the problem.
#[track_caller]
pub fn assert_problem_event(event: &SseEvent, name: &str, status: StatusCode, code: &str) -> Value {
    assert_eq!(event.event, name, "{}", event.data);
    let body = event.json();
    if let Some(wrong) = problem_mismatch(status, None, &body, status, code) {
        panic!("the {name} event is not a {status} {code} problem: {wrong}");
    }
    body
}

/// Asserts an answer read off a raw socket — its head (status line and headers, in any case)
/// and the body bytes after it — is a problem of `status` with `code` (status line,
/// problem+json content type and body, as [`problem_mismatch`] checks); returns the body. For
/// the tests that speak HTTP by hand (malformed requests, the connection cap).
#[track_caller]
pub fn assert_problem_raw(head: &str, body: &[u8], status: StatusCode, code: &str) -> Value {
    let got = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let content_type = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(wrong) = problem_mismatch(got, Some(&content_type), &body, status, code) {
        panic!("not a {status} {code} problem: {wrong}\n{head}");
    }
    body
}

/// Asserts `actual` has every member of `expected` with the same value — objects member by
/// member, recursively, anything else equal as a whole — whatever else it has: several
/// fields of one answer checked in one line, all named when one differs.
#[track_caller]
pub fn assert_json_includes(actual: &Value, expected: &Value) {
    fn differences(actual: &Value, expected: &Value, at: &str, out: &mut Vec<String>) {
        match expected.as_object() {
            Some(members) => {
                for (key, want) in members {
                    differences(&actual[key], want, &format!("{at}.{key}"), out);
                }
            }
            None if actual != expected => out.push(format!("{at}: {actual}, expected {expected}")),
            None => {}
        }
    }
    let mut out = Vec::new();
    differences(actual, expected, "", &mut out);
    assert!(out.is_empty(), "{}\nin {actual}", out.join("\n"));
}

/// Polls `check` until it yields a value, failing the test after `within`.
pub async fn poll_until<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` until it returns true or `within` passes; says which.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
