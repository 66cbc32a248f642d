//! `booking [--config FILE]` serves the booking API; `booking audit` checks the database
//! invariants and exits non-zero on any breach.

use anyhow::Context;
use booking::BookingSettings;
use shared::config::{config_file_from_args, Layered};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = config_file_from_args("BOOKING_CONFIG");
    let settings =
        BookingSettings::load(file.as_deref()).context("loading the booking configuration")?;
    if std::env::args().nth(1).as_deref() == Some("audit") {
        let pool = booking::startup::pg_pool(&settings.database)?;
        let report = booking::audit::run(&pool).await?;
        print!("{report}");
        std::process::exit(if report.passed() { 0 } else { 1 });
    }
    shared::telemetry::init(settings.profile, "info,sqlx=warn,tower_http=info");
    let running = booking::startup::spawn(settings, None).await?;
    tokio::spawn(shared::service::shutdown_signal(running.cancel.clone()));
    running.wait().await;
    Ok(())
}
