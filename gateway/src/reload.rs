//! Live configuration: the room defaults (`[queue]`) and the per-concert sections
//! (`[rooms."<concert_id>"]`) are applied at start, and again when the configuration file
//! changes (checked every second) or the process gets SIGHUP — no restart.
//!
//! They go through the admin API's own path ([`Rooms::change`]): booking records the change
//! first, then the room hash in Redis, which every instance reads at its next tick, so all
//! gateways apply it within one tick whichever of them read the file. Each section carries
//! the digest of its content; booking applies a digest once. So the same file read by ten
//! gateways, or by a gateway restarted, changes nothing twice, and an operator's change
//! through the admin API after the file was applied stands until the file's section itself
//! changes: the latest change wins.
//!
//! A file that does not load (a syntax error, a value out of range) is refused as a whole
//! and the running settings stay; only the room settings are live — the others (addresses,
//! secrets, limits) need a restart, as the README says. Sections that could not be applied
//! (booking unreachable) are tried again every second.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use shared::config::Layered;
use shared::contract::rooms::RoomPatch;
use shared::store::RoomSettings;
use tokio_util::sync::CancellationToken;

use crate::rooms::{RoomError, Rooms};
use crate::settings::GatewaySettings;

/// How often the file is checked for changes (and failed sections retried).
const POLL: Duration = Duration::from_secs(1);

/// The live part of the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomConfig {
    pub defaults: RoomSettings,
    pub sections: Vec<(i64, RoomPatch)>,
}

impl RoomConfig {
    pub fn of(settings: &GatewaySettings) -> Self {
        Self {
            defaults: settings.queue.room(),
            sections: settings.room_sections(),
        }
    }
}

/// The digest booking remembers for a section: the concert id and the patch as JSON.
fn digest(concert_id: i64, patch: &RoomPatch) -> String {
    let json = serde_json::to_string(&(concert_id, patch)).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// Applies `config`; true when every part of it was applied (or refused for good).
async fn apply(rooms: &Rooms, config: &RoomConfig) -> bool {
    let mut done = true;
    match rooms.set_defaults(config.defaults).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rooms = n, "room defaults reloaded"),
        Err(e) => {
            tracing::warn!(error = %e, "room defaults not applied yet; retrying");
            done = false;
        }
    }
    for (concert_id, patch) in &config.sections {
        match rooms
            .change(*concert_id, patch, Some(digest(*concert_id, patch)))
            .await
        {
            Ok(()) => {}
            Err(RoomError::NotFound(id)) => {
                tracing::warn!(
                    concert_id = id,
                    "configured room: booking has no such concert"
                )
            }
            Err(RoomError::Booking(crate::forward::client::BookingError::Refused(why))) => {
                tracing::warn!(concert_id, %why, "configured room refused")
            }
            Err(e) => {
                tracing::warn!(concert_id, error = %e, "configured room not applied yet; retrying");
                done = false;
            }
        }
    }
    metrics::counter!(
        "gateway_config_applied_total",
        "result" => if done { "ok" } else { "retry" }
    )
    .increment(1);
    done
}

/// The file's content digest, `None` when it cannot be read.
fn file_digest(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok().map(|b| Sha256::digest(&b).into())
}

/// Reads the file again (with the environment on top, as at start).
fn reload(path: &Path) -> Option<RoomConfig> {
    match GatewaySettings::load(Some(path)) {
        Ok(settings) => Some(RoomConfig::of(&settings)),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "configuration not reloaded: the running settings stay");
            metrics::counter!("gateway_config_reloads_total", "result" => "refused").increment(1);
            None
        }
    }
}

/// Applies `initial`, then follows `file` (when there is one) until `cancel`.
pub async fn run(
    rooms: Arc<Rooms>,
    initial: RoomConfig,
    file: Option<PathBuf>,
    cancel: CancellationToken,
) {
    let mut config = initial;
    let mut applied = apply(&rooms, &config).await;
    let mut seen = file.as_deref().and_then(file_digest);
    let mut hangup = hangup_signal();
    loop {
        let signalled = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => false,
            _ = recv(&mut hangup) => true,
        };
        if let Some(path) = file.as_deref() {
            let now = file_digest(path);
            if signalled || now != seen {
                seen = now;
                if let Some(new) = reload(path) {
                    tracing::info!(file = %path.display(), signalled, "configuration reloaded");
                    metrics::counter!("gateway_config_reloads_total", "result" => "ok")
                        .increment(1);
                    // A section that did not change is applied again anyway (booking
                    // ignores a digest it has), which also mends a room lost meanwhile.
                    config = new;
                    applied = false;
                }
            }
        }
        if !applied {
            applied = apply(&rooms, &config).await;
        }
    }
}

#[cfg(unix)]
fn hangup_signal() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Option<()> {
    None
}

#[cfg(unix)]
async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn recv(_: &mut Option<()>) {
    std::future::pending().await
}
