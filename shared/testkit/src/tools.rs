//! What the load tools (`src/bin`) share: the operators' rooms API of a running gateway.

use anyhow::bail;
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
