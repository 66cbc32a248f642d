//! What the load tools (`src/bin`) share: their command line, the gateway they drive and
//! its operators' rooms API, a Redis connection.

use anyhow::{bail, Context};
use serde_json::Value;

/// `GET`/`PUT /admin/rooms/{concert_id}` on `ops` (a gateway, or nginx's internal
/// listener) with the admin token.
#[derive(Clone)]
pub struct Rooms {
    pub client: reqwest::Client,
    pub ops: String,
    pub admin_token: String,
}

impl Rooms {
    pub fn new(client: &reqwest::Client, ops: &str, admin_token: &str) -> Self {
        Self {
            client: client.clone(),
            ops: ops.trim_end_matches('/').to_owned(),
            admin_token: admin_token.to_owned(),
        }
    }

    /// The room as operators see it.
    pub async fn get(&self, concert_id: i64) -> anyhow::Result<Value> {
        self.send(self.client.get(self.url(concert_id))).await
    }

    /// Changes the room; the room after the change.
    pub async fn put(&self, concert_id: i64, change: Value) -> anyhow::Result<Value> {
        self.send(self.client.put(self.url(concert_id)).json(&change))
            .await
    }

    fn url(&self, concert_id: i64) -> String {
        format!("{}/admin/rooms/{concert_id}", self.ops)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request.bearer_auth(&self.admin_token).send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("rooms API answered {status}: {body}");
        }
        Ok(body)
    }
}

/// Reads a load tool's command line option by option: `each` takes an option (reading its
/// value from the command line) and says whether it knew it. An unknown option is an
/// error; `-h` / `--help` prints `usage` and exits.
pub fn read_options(
    usage: &str,
    mut each: impl FnMut(&str, &mut CommandLine) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut cli = CommandLine::default();
    while let Some(option) = cli.next() {
        if option == "-h" || option == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        if !each(&option, &mut cli)? {
            bail!("unknown argument {option:?} (try --help)");
        }
    }
    Ok(())
}

/// A load tool's command line, option by option (the program's name skipped).
pub struct CommandLine(std::iter::Skip<std::env::Args>);

impl Default for CommandLine {
    fn default() -> Self {
        Self(std::env::args().skip(1))
    }
}

impl Iterator for CommandLine {
    type Item = String;

    /// The next option or flag.
    fn next(&mut self) -> Option<String> {
        self.0.next()
    }
}

impl CommandLine {
    /// The value that follows option `name`.
    pub fn value(&mut self, name: &str) -> anyhow::Result<String> {
        self.0
            .next()
            .with_context(|| format!("{name} needs a value"))
    }

    /// The value that follows option `name`, parsed.
    pub fn parsed<T>(&mut self, name: &str) -> anyhow::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let value = self.value(name)?;
        value
            .parse()
            .with_context(|| format!("{name}: cannot read {value:?}"))
    }
}

/// The gateway a load tool drives: buyers at `base`, the operators' rooms API at `ops`
/// with `admin_token` (`--base`, `--ops`, `--admin-token`; `ADMIN_TOKEN`).
pub struct Target {
    pub base: String,
    pub ops: String,
    pub admin_token: String,
}

impl Default for Target {
    /// The local development gateway.
    fn default() -> Self {
        Self {
            base: "http://127.0.0.1:8080".into(),
            ops: "http://127.0.0.1:8080".into(),
            admin_token: std::env::var("ADMIN_TOKEN").unwrap_or_else(|_| "dev-admin-token".into()),
        }
    }
}

impl Target {
    /// Takes `option` from `cli` if it is one of the target's; whether it was.
    pub fn take(&mut self, option: &str, cli: &mut CommandLine) -> anyhow::Result<bool> {
        let field = match option {
            "--base" => &mut self.base,
            "--ops" => &mut self.ops,
            "--admin-token" => &mut self.admin_token,
            _ => return Ok(false),
        };
        *field = cli.value(option)?;
        Ok(true)
    }

    /// An HTTP client for the target (30 s per request) and its rooms API.
    pub fn connect(&self) -> anyhow::Result<(reqwest::Client, Rooms)> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let rooms = Rooms::new(&client, &self.ops, &self.admin_token);
        Ok((client, rooms))
    }
}

/// A connection to the Redis at `url` (a load tool's own).
pub async fn redis_conn(url: &str) -> anyhow::Result<redis::aio::MultiplexedConnection> {
    redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to {url}"))
}
