//! Tracing setup: human-readable output in dev, one JSON object per line in prod.
//! `RUST_LOG` overrides the default filter.
//!
//! In prod every line carries the whole span stack (`spans`), so a line logged inside a
//! handler's own `#[instrument]` span still shows the request span's `request_id`, and the
//! `user_id` / `concert_id` the request recorded on it once known.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Profile;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(profile: Profile, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match profile {
        Profile::Prod => registry.with(json_layer(std::io::stdout)).try_init(),
        Profile::Dev => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
}

/// The prod format: one JSON object per line, with the current span and the span stack.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn json_lines_carry_request_user_and_concert_inside_nested_spans() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(json_layer(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            // The shape `shared::http::finish` opens, recorded later by the handlers.
            let request = tracing::info_span!(
                "request",
                request_id = "rid-1",
                user_id = tracing::field::Empty,
                concert_id = tracing::field::Empty,
            );
            let _request = request.enter();
            tracing::Span::current().record("user_id", 42);
            tracing::Span::current().record("concert_id", 7);
            let handler = tracing::info_span!("hold", seat_no = 3);
            let _handler = handler.enter();
            tracing::info!("inside the handler");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("one line")).unwrap();
        let request = &line["spans"][0];
        assert_eq!(request["request_id"], "rid-1", "{line}");
        assert_eq!(request["user_id"], 42, "{line}");
        assert_eq!(request["concert_id"], 7, "{line}");
        assert_eq!(line["span"]["name"], "hold", "{line}");
    }
}
