//! A Server-Sent Events client for tests and the stream load tool: reads a response body
//! and hands out its events one at a time (comments included, as `event == ":"`).

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};

/// One event (or heartbeat comment) of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name (`message` when none was given), or `:` for a comment.
    pub event: String,
    pub id: Option<String>,
    pub data: String,
    /// The `retry:` hint, ms.
    pub retry: Option<u64>,
}

impl SseEvent {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

/// The events of one `text/event-stream` response.
pub struct SseStream {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buf: String,
}

impl SseStream {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event or comment; `None` when the stream ended (or broke).
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next event that is not a comment, within `within`; `None` at the end or on
    /// timeout.
    pub async fn next_event(&mut self, within: Duration) -> Option<SseEvent> {
        tokio::time::timeout(within, async {
            loop {
                match self.next().await {
                    Some(e) if e.event == ":" => continue,
                    other => return other,
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}

fn parse(block: &str) -> SseEvent {
    let mut event = SseEvent::default();
    let mut data: Vec<&str> = Vec::new();
    let mut comment = true;
    for line in block.lines() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        comment = false;
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.event = value.to_owned(),
            "id" => event.id = Some(value.to_owned()),
            "data" => data.push(value),
            "retry" => event.retry = value.parse().ok(),
            _ => {}
        }
    }
    if comment {
        event.event = ":".into();
        return event;
    }
    if event.event.is_empty() {
        event.event = "message".into();
    }
    event.data = data.join("\n");
    event
}
