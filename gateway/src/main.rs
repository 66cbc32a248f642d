//! `gateway` binary: settings → telemetry → build → serve until SIGINT/SIGTERM.

use anyhow::Context;
use shared::config::{config_file_from_args, GatewaySettings};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = config_file_from_args("GATEWAY_CONFIG");
    let settings =
        GatewaySettings::load(file.as_deref()).context("loading the gateway configuration")?;
    shared::telemetry::init(settings.profile, "info,gateway=info,tower_http=info");
    let app = gateway::build(settings)
        .await
        .context("starting the gateway")?;
    let cancel = CancellationToken::new();
    tokio::spawn(shared::http::shutdown_signal(cancel.clone()));
    app.run(cancel).await.context("serving")?;
    tracing::info!("gateway stopped");
    Ok(())
}
