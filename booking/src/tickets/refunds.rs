//! The refunds of cancelled shows, in the background: every second (and at once when a
//! show is cancelled) each schedule cancelled and not yet done has its tickets refunded,
//! `tickets.refund_batch` per transaction, until none is left. State lives in PostgreSQL
//! only (the tickets still CONFIRMED; `schedules.refunds_done_at`), so a booking killed
//! half-way resumes where it stopped when it starts again, and several booking instances
//! can run it at once (a ticket is refunded by the one transaction that turns it from
//! CONFIRMED to CANCELLED).
//!
//! A hold that was being written when the show was cancelled can still commit (and be
//! paid) just after: each pass also releases holds, and a show is marked done only when a
//! pass finds nothing and the cancellation is older than any transaction can last (the
//! statement timeout, twice).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::store;

/// Runs until `cancel`; `wake` starts a pass at once.
pub async fn run(
    db: PgPool,
    batch: u32,
    settle: Duration,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        if let Err(e) = pass(&db, i64::from(batch), settle).await {
            tracing::warn!(error = %e, "refunding cancelled shows failed; will retry");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One pass over the shows being refunded; how many tickets it refunded.
pub async fn pass(db: &PgPool, batch: i64, settle: Duration) -> sqlx::Result<usize> {
    let shows = {
        let mut conn = db.acquire().await?;
        store::refunding(&mut conn).await?
    };
    let mut total = 0;
    for (schedule_id, cancelled_at) in shows {
        let mut conn = db.acquire().await?;
        store::release_holds(&mut conn, schedule_id).await?;
        loop {
            let mut tx = db.begin().await?;
            let n = store::refund_show_batch(&mut tx, schedule_id, batch).await?;
            tx.commit().await?;
            total += n;
            metrics::counter!("booking_tickets_cancelled_total", "by" => "show")
                .increment(n as u64);
            if n == 0 {
                break;
            }
        }
        let settled = chrono::Utc::now() - cancelled_at
            > chrono::Duration::from_std(settle).unwrap_or_default();
        if settled {
            let mut conn = db.acquire().await?;
            store::refunds_done(&mut conn, schedule_id).await?;
            tracing::info!(
                schedule_id,
                "every ticket of the cancelled show is refunded"
            );
        }
    }
    Ok(total)
}
