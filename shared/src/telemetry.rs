//! Tracing setup: human-readable output in dev, one JSON object per line in prod.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::Profile;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(profile: Profile, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match profile {
        Profile::Prod => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        Profile::Dev => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
}
