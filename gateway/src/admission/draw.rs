//! The opening's draw: at `opens_at` the pre-queue is put in line in a uniformly random
//! order that anyone can check afterwards ([`shared::draw`]).
//!
//! Every instance's ticker notices when a room's opening has passed and calls [`run`]; the
//! first call freezes the pre-queue (no join adds to it after that, and every later join
//! gets a ticket number behind all of it) and exactly one instance at a time holds the
//! draw's lease. The owner reads the frozen pre-queue in chunks, orders it by the seed
//! booking drew when the opening was scheduled, and writes the order in chunks of
//! [`WRITE_CHUNK`] tickets, each one short script call, so a million entries never stall
//! Redis for other concerts. If the owner dies, its lease runs out ([`LEASE_MS`]) and
//! another instance takes over where it stopped: the order is a function of the seed and
//! the frozen set, so a takeover writes exactly what the first owner would have — there is
//! one draw, whoever writes it. Admission starts at the first tick after the last chunk.

use std::time::{Duration, Instant};

use crate::line::LineStore;
use crate::line::{DrawStart, Written};
use shared::draw;
use shared::store::StoreError;

/// How long an owner keeps the draw without writing (each chunk extends it).
pub const LEASE_MS: u64 = 5_000;
/// Pre-queue entries read per call.
const READ_CHUNK: u64 = 5_000;
/// Tickets written per call (a few milliseconds of Redis time).
pub const WRITE_CHUNK: usize = 2_000;

/// How a call of [`run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No opening, or it is still ahead.
    NotYet,
    /// The draw is done (by this call or earlier, by any instance).
    Drawn,
    /// Another live instance owns the draw.
    Busy,
    /// This instance's lease ran out while it wrote; another instance took over.
    Lost,
    /// The room has no seed, so nothing can be drawn (booking did not keep one).
    NoSeed,
}

/// What a call of [`run`] did, and the longest single Redis call it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    /// Entries in the draw (0 when it was not this call's to run).
    pub entries: u64,
    /// Tickets this call wrote.
    pub written: u64,
    pub redis_calls: u64,
    pub longest_call: Duration,
    pub elapsed: Duration,
}

/// Times every Redis call of a draw.
struct Timed {
    calls: u64,
    longest: Duration,
}

impl Timed {
    async fn call<T>(
        &mut self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = work.await;
        self.calls += 1;
        self.longest = self.longest.max(started.elapsed());
        result
    }
}

/// Runs (or resumes, or finds done) the draw of `concert_id` as `instance_id`.
#[tracing::instrument(skip(store))]
pub async fn run(
    store: &LineStore,
    concert_id: i64,
    instance_id: &str,
) -> Result<Report, StoreError> {
    let started = Instant::now();
    let mut timed = Timed {
        calls: 0,
        longest: Duration::ZERO,
    };
    let report = |outcome, entries, written, timed: &Timed| Report {
        outcome,
        entries,
        written,
        redis_calls: timed.calls,
        longest_call: timed.longest,
        elapsed: started.elapsed(),
    };
    let claim = || store.draw_begin(concert_id, instance_id, LEASE_MS, true);
    let frozen = match timed.call(claim()).await? {
        DrawStart::Go(frozen) => frozen,
        DrawStart::NotYet => return Ok(report(Outcome::NotYet, 0, 0, &timed)),
        DrawStart::Drawn => return Ok(report(Outcome::Drawn, 0, 0, &timed)),
        DrawStart::Busy => return Ok(report(Outcome::Busy, 0, 0, &timed)),
    };
    let Some(seed) = frozen.seed else {
        tracing::error!(
            concert_id,
            "the room has no seed: its opening cannot be drawn"
        );
        return Ok(report(Outcome::NoSeed, frozen.entries, 0, &timed));
    };

    let mut users = Vec::with_capacity(frozen.entries as usize);
    while (users.len() as u64) < frozen.entries {
        let offset = users.len() as u64;
        let chunk = timed
            .call(store.prequeue_chunk(concert_id, offset, READ_CHUNK))
            .await?;
        if chunk.is_empty() {
            break;
        }
        users.extend(chunk);
    }
    if users.len() as u64 != frozen.entries {
        return Err(StoreError::UnexpectedReply(format!(
            "draw of concert {concert_id}: the frozen pre-queue has {} entries, not {}",
            users.len(),
            frozen.entries
        )));
    }
    // About a microsecond per entry: off the async workers.
    let ordered = tokio::task::spawn_blocking(move || draw::order(&seed, concert_id, &users))
        .await
        .map_err(|e| StoreError::UnexpectedReply(format!("the draw's sort failed: {e}")))?;

    // Reading and sorting took a while: renew the lease, and start where the draw stands.
    let mut at = match timed.call(claim()).await? {
        DrawStart::Go(now) => now.written,
        DrawStart::Drawn => return Ok(report(Outcome::Drawn, frozen.entries, 0, &timed)),
        DrawStart::Busy => return Ok(report(Outcome::Busy, frozen.entries, 0, &timed)),
        DrawStart::NotYet => return Ok(report(Outcome::NotYet, 0, 0, &timed)),
    };
    let mut written_here = 0;
    while at < frozen.entries {
        let end = (at as usize + WRITE_CHUNK).min(ordered.len());
        let chunk = &ordered[at as usize..end];
        match timed
            .call(store.draw_write(concert_id, instance_id, at, LEASE_MS, chunk))
            .await?
        {
            Written::Ok { written, done } => {
                written_here += written - at;
                at = written;
                if done {
                    break;
                }
            }
            Written::Skipped { written } => at = written,
            Written::Lost => {
                return Ok(report(Outcome::Lost, frozen.entries, written_here, &timed))
            }
        }
    }
    tracing::info!(
        concert_id,
        entries = frozen.entries,
        written = written_here,
        "opening draw written"
    );
    Ok(report(Outcome::Drawn, frozen.entries, written_here, &timed))
}
