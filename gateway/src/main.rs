//! `gateway` binary: settings → telemetry → build → serve until SIGINT/SIGTERM.

use anyhow::Context;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use gateway::GatewaySettings;
use shared::config::{config_file_from_args, Layered};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = config_file_from_args("GATEWAY_CONFIG");
    let mut settings =
        GatewaySettings::load(file.as_deref()).context("loading the gateway configuration")?;
    // Room settings in the file are followed live (gateway::reload).
    settings.source_file = file;
    shared::telemetry::init(settings.profile, "info,gateway=info,tower_http=info");
    let app = gateway::build(settings)
        .await
        .context("starting the gateway")?;
    let running = app.serve().context("serving")?;
    tokio::spawn(shared::service::shutdown_signal(running.cancel.clone()));
    running.wait().await;
    Ok(())
}
