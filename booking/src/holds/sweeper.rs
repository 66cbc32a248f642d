//! The hold sweeper: every `holds.sweep_interval_ms`, holds past their deadline are reset
//! in the database (seats AVAILABLE, reservations EXPIRED). It only tidies rows up — a
//! hold past its deadline already counts as over everywhere (see migration 0005).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Runs until `cancel` is cancelled.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let period = Duration::from_millis(state.settings.holds.sweep_interval_ms.max(50));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        let result = async {
            let mut tx = state.db.begin().await?;
            let batch = i64::from(state.settings.holds.sweep_batch);
            let started = std::time::Instant::now();
            let n = super::store::sweep_expired(&mut tx, batch).await?;
            tx.commit().await?;
            metrics::histogram!("booking_hold_sweep_seconds")
                .record(started.elapsed().as_secs_f64());
            Ok::<u64, sqlx::Error>(n)
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("booking_holds_total", "outcome" => "expired").increment(n);
                tracing::debug!(expired = n, "swept expired holds");
            }
            Err(e) => tracing::warn!(error = %e, "hold sweeper failed; will retry"),
        }
    }
}
