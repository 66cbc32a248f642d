//! nginx with `deploy/nginx.conf` for real, in front of in-process services: the listen
//! ports of the file swapped for free ones, `upstream.conf` written for the given
//! gateways and booking, run in the foreground as a child process (killed when dropped).
//! `None` when nginx is not installed (`scripts/test` installs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn binary() -> Option<PathBuf> {
    if Command::new("nginx").arg("-v").output().is_ok() {
        return Some(PathBuf::from("nginx"));
    }
    let sbin = PathBuf::from("/usr/sbin/nginx");
    sbin.exists().then_some(sbin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Nginx {
    child: Child,
    binary: PathBuf,
    prefix: PathBuf,
    /// The public listener (`:8000` in the file).
    pub port: u16,
    /// The internal listener (`:8001` in the file).
    pub internal_port: u16,
}

impl Nginx {
    /// nginx in front of `gateways` and `booking` (`host:port` each), or `None` without
    /// nginx on the machine.
    pub fn start(gateways: &[String], booking: &str) -> Option<Self> {
        let binary = binary()?;
        let prefix = std::env::temp_dir().join(format!("nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let servers: String = gateways
            .iter()
            .map(|addr| format!("    server {addr} max_fails=3 fail_timeout=10s;\n"))
            .collect();
        std::fs::write(
            prefix.join("upstream.conf"),
            format!(
                "upstream gateways {{\n    least_conn;\n{servers}    keepalive 16;\n}}\n\
                 upstream gateway_streams {{\n    least_conn;\n{servers}}}\n\
                 upstream booking {{\n    server {booking};\n    keepalive 4;\n}}\n"
            ),
        )
        .unwrap();
        let conf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"),
        )
        .unwrap();
        assert_eq!(
            conf.matches("listen 8000 ").count(),
            1,
            "deploy/nginx.conf listens on 8000 once"
        );
        assert_eq!(
            conf.matches("listen 8001;").count(),
            1,
            "deploy/nginx.conf listens on 8001 once"
        );
        let (port, internal_port) = (free_port(), free_port());
        std::fs::write(
            prefix.join("nginx.conf"),
            conf.replace("listen 8000 ", &format!("listen 127.0.0.1:{port} "))
                .replace(
                    "listen 8001;",
                    &format!("listen 127.0.0.1:{internal_port};"),
                ),
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
        Some(Self {
            child,
            binary,
            prefix,
            port,
            internal_port,
        })
    }

    /// nginx in front of `stack`'s running gateways and booking service, ready to serve; or
    /// `None`, with a note that `what` is skipped, without nginx on the machine.
    pub async fn in_front_of(stack: &crate::Stack, what: &str) -> Option<Self> {
        let booking = stack.booking_url().trim_start_matches("http://").to_owned();
        let Some(nginx) = Self::start(&stack.gateway_addrs(), &booking) else {
            eprintln!("note: nginx is not installed; skipping {what}");
            return None;
        };
        nginx.ready(&stack.client).await;
        Some(nginx)
    }

    /// The public listener's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The internal listener's base URL.
    pub fn internal_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.internal_port)
    }

    /// Waits until nginx answers its own health check.
    pub async fn ready(&self, client: &reqwest::Client) {
        let url = format!("{}/nginx-health", self.url());
        crate::poll_until(Duration::from_secs(10), "nginx to serve", || async {
            client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
                .then_some(())
        })
        .await
    }

    /// Graceful stop (flushes the buffered access log), then the log's lines.
    pub fn stop(mut self) -> String {
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
