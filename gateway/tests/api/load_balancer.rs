//! The load-balancer path for real: nginx with `deploy/nginx.conf` (only its listen port
//! changed) in front of two in-process gateways, a small sale through it, and proof from
//! nginx's own access log that both gateways served buyers. Skipped with a note when nginx
//! is not installed (`scripts/test` installs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use testkit::prelude::*;

fn nginx_binary() -> Option<PathBuf> {
    if Command::new("nginx").arg("-v").output().is_ok() {
        return Some(PathBuf::from("nginx"));
    }
    let sbin = PathBuf::from("/usr/sbin/nginx");
    sbin.exists().then_some(sbin)
}

/// nginx in the foreground as a child process, killed when dropped.
struct Nginx {
    child: Child,
    binary: PathBuf,
    prefix: PathBuf,
    port: u16,
}

impl Nginx {
    /// Writes `upstream.conf` for `gateways` and a copy of `deploy/nginx.conf` listening
    /// on a free port into a fresh prefix directory, then starts nginx on it.
    fn start(binary: PathBuf, gateways: &[String]) -> Self {
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nginx-lb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let servers: String = gateways
            .iter()
            .map(|addr| format!("    server {addr} max_fails=3 fail_timeout=10s;\n"))
            .collect();
        std::fs::write(
            prefix.join("upstream.conf"),
            format!("upstream gateways {{\n    least_conn;\n{servers}    keepalive 16;\n}}\n"),
        )
        .unwrap();
        let conf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf"),
        )
        .unwrap();
        assert_eq!(
            conf.matches("listen 8000 ").count(),
            1,
            "deploy/nginx.conf should listen on 8000 once"
        );
        let port = free_port();
        std::fs::write(
            prefix.join("nginx.conf"),
            conf.replace("listen 8000 ", &format!("listen 127.0.0.1:{port} ")),
        )
        .unwrap();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-g")
            .arg("daemon off;")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        Self {
            child,
            binary,
            prefix,
            port,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Graceful stop (flushes the buffered access log), then the log's lines.
    fn stop(mut self) -> String {
        let _ = Command::new(&self.binary)
            .arg("-p")
            .arg(format!("{}/", self.prefix.display()))
            .arg("-c")
            .arg(self.prefix.join("nginx.conf"))
            .arg("-s")
            .arg("quit")
            .output();
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read_to_string(self.prefix.join("logs/access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_sale_through_nginx_reaches_both_gateways() {
    let Some(binary) = nginx_binary() else {
        eprintln!("note: nginx is not installed; skipping the load-balancer test");
        return;
    };
    let app = Stack::gateways_with(2, |_| {}).await;
    let gateways: Vec<String> = app
        .gateways
        .iter()
        .flatten()
        .map(|g| g.addr.to_string())
        .collect();
    let nginx = Nginx::start(binary, &gateways);
    let lb = nginx.url();
    let client = &app.client;
    poll_until(Duration::from_secs(10), "nginx to serve", || async {
        let ok = client
            .get(format!("{lb}/nginx-health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        ok.then_some(())
    })
    .await;

    // A sale: join (admitted at once: the line is empty), status, a booking route, a
    // hold, a payment; every call with its own request id, echoed through nginx.
    let send = |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let rid = format!("lb-{}", uuid::Uuid::new_v4().simple());
        let mut request = client
            .request(method, format!("{lb}{path}"))
            .header("X-Request-Id", &rid);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
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
        reqwest::Method::POST,
        "/v1/queue/tokens",
        None,
        Some(json!({"concert_id": 1, "user_id": 42})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    assert_eq!(joined["status"], "active", "{joined}");
    let token = joined["token"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let (status, body) =
            send(reqwest::Method::GET, "/v1/queue/status", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = send(
            reqwest::Method::GET,
            "/v1/concerts/1/schedules",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["path"], "/v1/concerts/1/schedules", "reached booking");
    }
    let (status, body) = send(
        reqwest::Method::POST,
        "/v1/reservations",
        Some(&token),
        Some(json!({"schedule_id": 1, "seat_no": 7})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["method"], "POST");
    let (status, paid) = send(
        reqwest::Method::POST,
        "/v1/payments",
        Some(&token),
        Some(json!({"reservation_ids": ["00000000-0000-7000-8000-000000000000"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    // Paid: the admission is over, whichever gateway is asked.
    let (status, _) = send(
        reqwest::Method::GET,
        "/v1/concerts/1/schedules",
        Some(&token),
        None,
    )
    .await;
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
