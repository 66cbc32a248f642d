//! The admission ticker: moves buyers from the line to the active set at the rate each
//! room's settings allow.
//!
//! Every instance runs one ticker per room it finds in the rooms set (refreshed every
//! second, or at once when this instance creates a room). A room's ticker calls the promote
//! script about four times per `tick_ms` (10 ms to 250 ms apart). The script cuts time
//! into slots of `tick_ms` on the Redis clock and does the work only on the first call of a
//! new slot, so exactly one tick runs per slot whatever the number of instances, and when an
//! instance dies the others keep the rate without any hand-over. Each call's reply also
//! refreshes this instance's cached figures ([`crate::rooms`]) used for ETAs. When a
//! reply shows that the room's opening has passed and its draw is not written yet, the
//! ticker runs the draw ([`draw`]; one instance writes it, the others find it busy).
//!
//! All loops stop when the app's [`CancellationToken`] is cancelled.

pub mod accuracy;
pub mod draw;
pub mod eta;
pub mod place;
pub mod positions;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::line::LineStore;
use crate::line::Tick;
use crate::push::Hub;
use crate::rooms::{Observed, Rooms};

/// How often the set of rooms is re-read.
const ROOMS_REFRESH: Duration = Duration::from_secs(1);
/// Shortest and longest pause between two promote calls of one room (a quarter tick in
/// between). The upper bound keeps figures fresh and lets a shorter `tick_ms` set by an
/// operator apply quickly even when the old one was long.
const MIN_CALL_INTERVAL: Duration = Duration::from_millis(10);
const MAX_CALL_INTERVAL: Duration = Duration::from_millis(250);
/// Pause after a failed call (Redis down), and the least time between two warnings.
const ERROR_BACKOFF: Duration = Duration::from_millis(250);
const WARN_EVERY: Duration = Duration::from_secs(10);
/// How long a room's calls may fail before its push streams are ended with a 503 event.
const STREAMS_GIVE_UP: Duration = Duration::from_secs(2);

/// The ticker: keeps one [`run_room`] task per listed room until `cancel` is cancelled,
/// then stops and joins them.
pub async fn run(
    store: LineStore,
    rooms: Arc<Rooms>,
    hub: Arc<Hub>,
    instance_id: Arc<str>,
    cancel: CancellationToken,
) {
    let mut tasks: HashMap<i64, (CancellationToken, JoinHandle<()>)> = HashMap::new();
    let mut last_warn: Option<Instant> = None;
    loop {
        match store.room_ids().await {
            Ok(ids) => {
                let listed: HashSet<i64> = ids.into_iter().collect();
                tasks.retain(|id, (stop, handle)| {
                    let keep = listed.contains(id) && !handle.is_finished();
                    if !keep {
                        stop.cancel();
                    }
                    keep
                });
                for id in listed {
                    tasks.entry(id).or_insert_with(|| {
                        let stop = cancel.child_token();
                        let handle = tokio::spawn(run_room(
                            store.clone(),
                            rooms.clone(),
                            hub.clone(),
                            instance_id.clone(),
                            id,
                            stop.clone(),
                        ));
                        (stop, handle)
                    });
                }
            }
            Err(e) => warn_now_and_then(
                &mut last_warn,
                || tracing::warn!(error = %e, "admission ticker cannot list rooms"),
            ),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(ROOMS_REFRESH) => {}
            _ = rooms.room_created() => {}
        }
    }
    for (_, (stop, handle)) in tasks {
        stop.cancel();
        let _ = handle.await;
    }
}

/// Calls the promote script for one room until cancelled or the room hash disappears,
/// and tells the room's push streams what each reply means ([`Hub::pass`]).
async fn run_room(
    store: LineStore,
    rooms: Arc<Rooms>,
    hub: Arc<Hub>,
    instance_id: Arc<str>,
    concert_id: i64,
    cancel: CancellationToken,
) {
    let concert_label = concert_id.to_string();
    let mut last_warn: Option<Instant> = None;
    let mut drawing: Option<JoinHandle<()>> = None;
    // Since when the calls have been failing (Redis unreachable), and whether the streams
    // were told.
    let mut failing: Option<(Instant, bool)> = None;
    loop {
        let pause = match store.promote(concert_id, &instance_id).await {
            Ok(Some(tick)) => {
                failing = None;
                rooms.observe(Observed::Tick {
                    concert_id,
                    tick: &tick,
                });
                sync_left(&store, &rooms, concert_id, &tick).await;
                settle_etas(&store, &rooms, concert_id, &tick).await;
                hub.pass(&store, &rooms, concert_id, &tick).await;
                if tick.opening.draw_due(tick.now_ms)
                    && drawing.as_ref().is_none_or(|d| d.is_finished())
                {
                    drawing = Some(tokio::spawn(run_draw(
                        store.clone(),
                        concert_id,
                        instance_id.clone(),
                    )));
                }
                if tick.ran {
                    metrics::counter!(
                        "queue_promotion_ticks_total",
                        "concert_id" => concert_label.clone(),
                        "instance" => instance_id.to_string()
                    )
                    .increment(1);
                    if tick.admitted > 0 {
                        metrics::counter!("queue_admitted_total", "concert_id" => concert_label.clone())
                            .increment(tick.admitted);
                    }
                    tracing::trace!(
                        concert_id,
                        admitted = tick.admitted,
                        dropped = tick.dropped,
                        "tick"
                    );
                }
                metrics::gauge!("queue_waiting", "concert_id" => concert_label.clone())
                    .set(tick.waiting as f64);
                metrics::gauge!("queue_active", "concert_id" => concert_label.clone())
                    .set(tick.active as f64);
                Duration::from_millis(tick.tick_ms / 4).clamp(MIN_CALL_INTERVAL, MAX_CALL_INTERVAL)
            }
            Ok(None) => {
                // The room hash is gone (flushed or deleted); requests re-create it and the
                // supervisor restarts this loop if the room is listed again. Its line is
                // lost: its streams are told so.
                rooms.forget(concert_id);
                hub.reset(concert_id);
                break;
            }
            Err(e) => {
                warn_now_and_then(
                    &mut last_warn,
                    || tracing::warn!(concert_id, error = %e, "admission tick failed"),
                );
                let (since, told) = failing.get_or_insert((Instant::now(), false));
                if !*told && since.elapsed() >= STREAMS_GIVE_UP {
                    // The streams cannot be kept true: end them (they reconnect or poll).
                    hub.unavailable(concert_id);
                    *told = true;
                }
                ERROR_BACKOFF
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// One attempt at the room's draw (the ticker tries again while it is due).
async fn run_draw(store: LineStore, concert_id: i64, instance_id: Arc<str>) {
    match draw::run(&store, concert_id, &instance_id).await {
        Ok(report) if report.written > 0 => {
            metrics::counter!("queue_draw_written_total", "concert_id" => concert_id.to_string())
                .increment(report.written);
            metrics::histogram!("queue_draw_longest_call_seconds")
                .record(report.longest_call.as_secs_f64());
            tracing::info!(
                concert_id,
                entries = report.entries,
                written = report.written,
                elapsed_ms = report.elapsed.as_millis() as u64,
                longest_call_ms = report.longest_call.as_millis() as u64,
                outcome = ?report.outcome,
                "draw"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(concert_id, error = %e, "the opening draw failed; retrying"),
    }
}

/// Reads the tickets that left the room's line and the admissions that ended early since
/// the last read (one pipelined call) into the room's snapshot ([`place`]). A failed read
/// only makes the snapshot stale (polls go to Redis).
async fn sync_left(store: &LineStore, rooms: &Rooms, concert_id: i64, tick: &Tick) {
    let (left_since_ms, ended_since_ms) = rooms.departures_read_since(concert_id);
    match store
        .departures_since(concert_id, left_since_ms, ended_since_ms)
        .await
    {
        Ok(read) => rooms.observe(Observed::Departures {
            concert_id,
            read: &read,
            tick,
        }),
        Err(e) => tracing::debug!(concert_id, error = %e, "departures not read"),
    }
}

/// Turns the tickets the head of the line passed into ETA samples ([`accuracy`]). A failed
/// write loses those samples only.
async fn settle_etas(store: &LineStore, rooms: &Rooms, concert_id: i64, tick: &Tick) {
    if tick.sold_out {
        rooms.eta().forget(concert_id);
        return;
    }
    let samples = rooms.eta().admitted_below(concert_id, tick.head_seq);
    if samples.is_empty() {
        return;
    }
    let encoded: Vec<String> = samples.iter().map(accuracy::Sample::encode).collect();
    if let Err(e) = store
        .push_eta_samples(concert_id, &encoded, accuracy::KEPT)
        .await
    {
        tracing::debug!(concert_id, error = %e, "ETA samples not recorded");
    }
}

fn warn_now_and_then(last: &mut Option<Instant>, warn: impl FnOnce()) {
    if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
        warn();
        *last = Some(Instant::now());
    }
}
