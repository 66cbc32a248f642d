//! A real browser for the page's tests: Debian's `chromium`, driven through
//! `chromedriver` with the W3C WebDriver protocol (plain HTTP + JSON, so no client crate):
//! open a page, find elements by CSS, click, type, run scripts, take screenshots.
//!
//! [`Browser::start`] is `None` when chromium or chromedriver is not installed
//! (`scripts/test` installs them; with `CI` set a missing browser is a failure, not a skip).
//! Chromium runs headless, sandbox off (root in a container), with no background
//! networking: this machine's network is closed, and the page must need nothing but the
//! gateway.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.exists().then(|| path.to_path_buf());
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.exists())
        })
    })
}

/// How the browser presents itself.
#[derive(Debug, Clone)]
pub struct Profile {
    pub width: u32,
    pub height: u32,
    /// `Accept-Language` and `navigator.languages`, e.g. `en-US` or `ko-KR`.
    pub lang: &'static str,
}

impl Profile {
    pub fn desktop(lang: &'static str) -> Self {
        Self {
            width: 1280,
            height: 900,
            lang,
        }
    }

    /// A 375 px wide phone.
    pub fn phone(lang: &'static str) -> Self {
        Self {
            width: 375,
            height: 812,
            lang,
        }
    }
}

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile_dir: PathBuf,
}

impl Browser {
    /// A fresh browser session, or `None` when chromium or chromedriver is missing.
    pub async fn start(profile: Profile) -> Option<Self> {
        let chromium = which(&["chromium", "/usr/bin/chromium", "chromium-browser"])?;
        let chromedriver = which(&["chromedriver", "/usr/bin/chromedriver"])?;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            l.local_addr().ok()?.port()
        };
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .ok()?;
        let ready = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            if ready.elapsed() > Duration::from_secs(20) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile_dir =
            std::env::temp_dir().join(format!("chromium-{}", uuid::Uuid::new_v4().simple()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--hide-scrollbars",
                    format!("--window-size={},{}", profile.width, profile.height),
                    format!("--lang={}", profile.lang),
                    format!("--user-data-dir={}", profile_dir.display()),
                ],
                "prefs": {"intl.accept_languages": profile.lang},
            }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let session = created["value"]["sessionId"].as_str()?.to_owned();
        let browser = Self {
            driver,
            base,
            session,
            http,
            _profile_dir: profile_dir,
        };
        // The content area exactly as asked (the window's frame is not the page).
        browser
            .cmd(
                "POST",
                "window/rect",
                json!({"width": profile.width, "height": profile.height}),
            )
            .await;
        Some(browser)
    }

    /// `None` when chromium is missing — unless `CI` is set, where the page must be tested.
    pub async fn start_or_skip(profile: Profile) -> Option<Self> {
        let browser = Self::start(profile).await;
        if browser.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium and chromedriver are required in CI (scripts/test installs them)"
            );
            eprintln!("note: chromium/chromedriver not installed; skipping the browser test");
        }
        browser
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let value: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("chromedriver speaks JSON");
        value["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "url", json!({"url": url})).await;
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                "POST",
                "element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().map(str::to_owned)
    }

    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until `css` matches an element whose text satisfies `pred`; panics after
    /// `within` with what the page showed.
    pub async fn wait_text(
        &self,
        css: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        loop {
            if let Some(el) = self.find(css).await {
                last = self.text(&el).await;
                if pred(&last) {
                    return last;
                }
            }
            if Instant::now() > deadline {
                let body = self
                    .script("return document.body.innerText", json!([]))
                    .await;
                panic!("timed out waiting on {css} (last text {last:?}); the page said: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` matches an element.
    pub async fn wait_for(&self, css: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(el) = self.find(css).await {
                return el;
            }
            if Instant::now() > deadline {
                let body = self
                    .script("return document.body.innerText", json!([]))
                    .await;
                let found = self
                    .cmd(
                        "POST",
                        "element",
                        json!({"using": "css selector", "value": css}),
                    )
                    .await;
                panic!("timed out waiting for {css} ({found}); the page said: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn text(&self, element: &str) -> String {
        self.cmd("GET", &format!("element/{element}/text"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn attr(&self, element: &str, name: &str) -> Option<String> {
        self.cmd(
            "GET",
            &format!("element/{element}/attribute/{name}"),
            Value::Null,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn click(&self, element: &str) {
        self.cmd("POST", &format!("element/{element}/click"), json!({}))
            .await;
    }

    pub async fn clear_and_type(&self, element: &str, text: &str) {
        self.cmd("POST", &format!("element/{element}/clear"), json!({}))
            .await;
        self.cmd(
            "POST",
            &format!("element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Runs `script` in the page (`arguments` = `args`) and returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1]` with its result.
    pub async fn script_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/async",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let data = self.cmd("GET", "screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }

    /// The serious and critical accessibility violations axe-core finds on the page now
    /// (`axe` is the text of `axe.min.js`, injected into the page).
    pub async fn axe_violations(&self, axe: &str) -> Vec<String> {
        self.script(axe, json!([])).await;
        let found = self
            .script_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(
                   r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')')),
                   e => done(['axe failed: ' + e]));",
                json!([]),
            )
            .await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// `axe.min.js` from the npm package `axe-core` (`scripts/test` installs it under
/// `.run/axe`), or from `AXE_CORE_JS`; `None` when it is not there.
pub fn axe_source() -> Option<String> {
    let path = std::env::var_os("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.run/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(path).ok()
}
