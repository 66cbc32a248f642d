//! The streams of every room this gateway serves, and what each tick tells them.
//!
//! A stream is one entry in its room: the buyer's current token (and its claims), the
//! last position it was told, and a `watch` channel to the response body. The channel
//! holds only the latest update, so a slow client never makes the gateway queue events:
//! it gets the newest state when it reads.
//!
//! The admission ticker calls [`Hub::pass`] with every promote reply ([`Tick`]). A pass
//! reads each stream's place from the room's snapshot with the function polls use too
//! ([`crate::admission::place::decide`], through [`Rooms::place`]) and:
//! - a waiting ticket behind the head gets its position (`ticket - head + 1`, minus the
//!   known leavers in between), pushed when it changed and at most every 1–4 s per stream
//!   (a random phase spreads them), so a position is never more than 5 s old;
//! - a ticket that left the line, whose admission ended or expired, or whose line was lost
//!   (a new epoch) is told `gone` and its stream ends; a waiting ticket of a sold-out room
//!   is told `sold_out` and ends;
//! - tickets the head has passed (admitted, most likely), pre-queue tickets once the draw
//!   is written, and admitted tickets the ended list cannot vouch for are asked of Redis
//!   in ONE pipelined call per pass ([`LineStore::status_many`], at most [`MAX_CHECKS`]
//!   tickets; the rest at the next pass), and an admission is pushed with its new token.
//!
//! So a room's Redis work per pass does not grow with its streams: a thousand streams and a
//! hundred thousand cost the same calls, and only admissions are looked up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::line::LineStore;
use crate::line::Tick;
use rand::Rng;
use serde_json::Value;
use shared::contract::queue::TicketView;
use shared::contract::rooms::DrawState;
use shared::store::{Lookup, Place, Ticket};
use shared::token::{QueueClaims, TicketStatus, TokenKeys};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::admission::place::Known;
use crate::error::ApiError;
use crate::rooms::Rooms;
use crate::tokens::issue::{self, Presented, ViewInput};

/// Most tickets asked of Redis in one pass.
pub const MAX_CHECKS: usize = 2_000;
/// Position updates of one stream: at least this far apart, plus its phase (0–3 s).
const POSITION_EVERY: Duration = Duration::from_secs(1);
const PHASE_MS: u64 = 3_000;
/// A pass runs at least this often while a room has streams (positions age otherwise).
const PASS_EVERY: Duration = Duration::from_secs(1);
/// Admitted tickets the ended list cannot vouch for are asked of Redis this often.
const RECHECK_ACTIVE: Duration = Duration::from_secs(5);

/// What a stream is told next.
#[derive(Debug, Clone)]
pub enum Push {
    /// Nothing new (the channel's initial value).
    Nothing,
    /// The ticket's state: the same body as `GET /v1/queue/status`.
    Status(Arc<TicketView>),
    /// The ticket was dropped: a `TICKET_GONE` problem (with `reason` when known). Ends.
    Gone(Arc<Value>),
    /// The gateway cannot reach Redis: a 503 problem; the client reconnects (or polls).
    Unavailable(Arc<Value>),
}

impl Push {
    /// Whether the stream ends after this update.
    pub fn ends(&self) -> bool {
        match self {
            Push::Gone(_) | Push::Unavailable(_) => true,
            // Released by the sell-out (no place); a waitlisted ticket keeps its stream.
            Push::Status(view) => {
                view.status == TicketStatus::SoldOut && view.position.unwrap_or(0) == 0
            }
            Push::Nothing => false,
        }
    }

    pub fn gone(error: ApiError) -> Self {
        Push::Gone(Arc::new(error.to_problem().body()))
    }
}

struct Entry {
    token: String,
    claims: QueueClaims,
    /// Position last pushed (waiting tickets).
    position: Option<u64>,
    /// The last status pushed said `sold_out` (a waitlisted ticket keeps its stream).
    sold_out_shown: bool,
    pushed_at: Instant,
    phase: Duration,
    /// Last time Redis was asked about this ticket.
    checked_at: Option<Instant>,
    /// A final update was sent: the stream is ending.
    done: bool,
    tx: watch::Sender<Push>,
}

impl Entry {
    fn send(&mut self, push: Push) {
        self.done = push.ends();
        if let Push::Status(view) = &push {
            self.position = view.position;
            self.sold_out_shown = view.status == TicketStatus::SoldOut;
            if view.token != self.token {
                self.token = view.token.clone();
            }
        }
        self.pushed_at = Instant::now();
        let _ = self.tx.send(push);
    }
}

#[derive(Default)]
struct RoomStreams {
    streams: HashMap<u64, Entry>,
    last_pass: Option<Instant>,
    /// What the last pass saw: head of the line, epoch, draw state, sold out.
    seen: Option<(i64, u64, DrawState, bool)>,
}

/// Every stream this gateway holds (see the module docs).
pub struct Hub {
    rooms: Mutex<HashMap<i64, RoomStreams>>,
    open: AtomicUsize,
    next_id: AtomicU64,
    max: usize,
    tokens: Arc<TokenKeys>,
    waiting_ttl_secs: u64,
    /// Cancelled when the gateway shuts down: every stream ends (clients reconnect to
    /// another instance).
    closing: CancellationToken,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("open", &self.open())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// A stream's place in the hub: dropping it (the client went away, or the stream ended)
/// removes the entry.
pub struct Registration {
    hub: Arc<Hub>,
    concert_id: i64,
    id: u64,
}

impl Registration {
    pub fn concert_id(&self) -> i64 {
        self.concert_id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut rooms = self.hub.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get_mut(&self.concert_id) {
            room.streams.remove(&self.id);
            if room.streams.is_empty() {
                rooms.remove(&self.concert_id);
            }
        }
        self.hub.open.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("sse_streams_open").set(self.hub.open() as f64);
    }
}

impl Hub {
    pub fn new(max: usize, tokens: Arc<TokenKeys>, waiting_ttl_secs: u64) -> Self {
        Self {
            rooms: Mutex::default(),
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            max: max.max(1),
            tokens,
            waiting_ttl_secs,
            closing: CancellationToken::new(),
        }
    }

    /// Streams open right now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The token that ends every stream (the server's shutdown token).
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Takes a stream slot; `None` when the gateway holds `max` streams already.
    pub fn reserve(&self) -> Option<()> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max {
                metrics::counter!("sse_streams_refused_total").increment(1);
                return None;
            }
            match self.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(()),
                Err(now) => open = now,
            }
        }
    }

    /// Gives back a slot taken by [`Hub::reserve`] for a stream that was not registered.
    pub fn release(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Registers a stream (whose slot was reserved) for the ticket of `token`, last told
    /// `first`; the receiver gets every later update.
    pub fn register(
        self: &Arc<Self>,
        token: &str,
        claims: QueueClaims,
        first: &TicketView,
    ) -> (Registration, watch::Receiver<Push>) {
        let (tx, rx) = watch::channel(Push::Nothing);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let concert_id = claims.cid;
        let mut claims = claims;
        let mut token = token.to_owned();
        if first.token != token {
            // The first answer re-issued the token: follow the new one.
            if let Ok(fresh) = self.tokens.verify(&first.token) {
                claims = fresh;
                token = first.token.clone();
            }
        }
        let entry = Entry {
            token,
            claims,
            position: first.position,
            sold_out_shown: first.status == TicketStatus::SoldOut,
            pushed_at: Instant::now(),
            phase: Duration::from_millis(rand::rng().random_range(0..PHASE_MS)),
            checked_at: None,
            done: false,
            tx,
        };
        self.rooms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(concert_id)
            .or_default()
            .streams
            .insert(id, entry);
        metrics::gauge!("sse_streams_open").set(self.open() as f64);
        (
            Registration {
                hub: self.clone(),
                concert_id,
                id,
            },
            rx,
        )
    }

    /// Tells every stream of `concert_id` that Redis cannot be reached (the ticker's calls
    /// have been failing): they end with a 503 event and reconnect or poll.
    pub fn unavailable(&self, concert_id: i64) {
        let problem = Arc::new(
            shared::Problem::unavailable("the queue store", "unreachable")
                .with_retry_after(5)
                .body(),
        );
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get_mut(&concert_id) {
            for entry in room.streams.values_mut() {
                entry.send(Push::Unavailable(problem.clone()));
            }
        }
    }

    /// The room's line is lost (Redis lost its data): every stream is told `gone` with
    /// `reason: queue_reset` (join again) and ends.
    pub fn reset(&self, concert_id: i64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get_mut(&concert_id) {
            for entry in room.streams.values_mut().filter(|e| !e.done) {
                entry.send(Push::gone(ApiError::QueueReset));
            }
        }
    }

    fn view(&self, rooms: &Rooms, entry: &Entry, ticket: Ticket) -> TicketView {
        issue::view(ViewInput {
            keys: &self.tokens,
            defaults: &rooms.defaults(),
            waiting_ttl_secs: self.waiting_ttl_secs,
            figures: rooms.figures(entry.claims.cid),
            presented: Some(Presented {
                token: &entry.token,
                claims: &entry.claims,
            }),
            concert_id: entry.claims.cid,
            user_id: entry.claims.user_id(),
            ticket,
            now_secs: shared::token::now_secs(),
        })
    }

    /// What the ticker's latest reply for `concert_id` means for its streams (see the
    /// module docs). Redis is called at most once.
    pub async fn pass(&self, store: &LineStore, rooms: &Rooms, concert_id: i64, tick: &Tick) {
        let checks = {
            let mut all = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
            let Some(room) = all.get_mut(&concert_id) else {
                return;
            };
            let seen = (tick.head_seq, tick.epoch, tick.opening.state, tick.sold_out);
            let due = room.seen != Some(seen)
                || room.last_pass.is_none_or(|at| at.elapsed() >= PASS_EVERY);
            if !due {
                return;
            }
            room.seen = Some(seen);
            room.last_pass = Some(Instant::now());
            self.look(rooms, concert_id, tick, room)
        };
        if checks.is_empty() {
            return;
        }
        let tickets: Vec<(i64, i64, u64)> = checks.iter().map(|(_, t)| *t).collect();
        let lookups = match store.status_many(concert_id, &tickets).await {
            Ok(lookups) => lookups,
            Err(e) => {
                tracing::debug!(concert_id, error = %e, "streams' tickets not checked");
                return;
            }
        };
        let mut all = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let Some(room) = all.get_mut(&concert_id) else {
            return;
        };
        for ((id, _), lookup) in checks.iter().zip(lookups) {
            let Some(entry) = room.streams.get_mut(id).filter(|e| !e.done) else {
                continue;
            };
            entry.checked_at = Some(Instant::now());
            let push = match lookup {
                Lookup::Found(ticket) => {
                    let changed = issue::status_of(&ticket.place) != entry.claims.st
                        || ticket.seq != entry.claims.seq;
                    if !changed && !matches!(ticket.place, Place::Waiting { .. }) {
                        continue;
                    }
                    let view = self.view(rooms, entry, ticket);
                    if view.token != entry.token {
                        if let Ok(claims) = self.tokens.verify(&view.token) {
                            entry.claims = claims;
                        }
                    }
                    let shown = view.status == TicketStatus::SoldOut;
                    if matches!(view.status, TicketStatus::Waiting | TicketStatus::SoldOut)
                        && view.position == entry.position
                        && shown == entry.sold_out_shown
                    {
                        continue;
                    }
                    Push::Status(Arc::new(view))
                }
                Lookup::SoldOut(inventory) => Push::Status(Arc::new(issue::sold_out_view(
                    &entry.token,
                    concert_id,
                    entry.claims.user_id(),
                    inventory,
                ))),
                Lookup::Gone => Push::gone(ApiError::TicketGone),
                Lookup::GoneSoldOut => Push::gone(ApiError::SoldOutGone),
                Lookup::Reset => Push::gone(ApiError::QueueReset),
            };
            entry.send(push);
        }
    }

    /// The in-memory half of a pass: pushes what memory can tell, returns the tickets
    /// Redis must be asked about.
    fn look(
        &self,
        rooms: &Rooms,
        concert_id: i64,
        tick: &Tick,
        room: &mut RoomStreams,
    ) -> Vec<(u64, (i64, i64, u64))> {
        let mut checks = Vec::new();
        for (id, entry) in room.streams.iter_mut().filter(|(_, e)| !e.done) {
            let c = &entry.claims;
            let ask = (c.user_id(), c.seq, c.ep);
            let room_for_checks = checks.len() < MAX_CHECKS;
            // The same function a poll is answered by; a stream takes a rank near the head
            // too (the pass after the admitting tick asks Redis, as the head passed it).
            let known = rooms.place_in(tick, Duration::ZERO, c);
            match known {
                Known::Reset => entry.send(Push::gone(ApiError::QueueReset)),
                Known::Gone => entry.send(Push::gone(ApiError::TicketGone)),
                Known::SoldOut => {
                    let view =
                        issue::sold_out_view(&entry.token, concert_id, c.user_id(), tick.inventory);
                    entry.send(Push::Status(Arc::new(view)));
                }
                Known::Waiting { rank, .. } => {
                    let due = entry.pushed_at.elapsed() >= POSITION_EVERY + entry.phase;
                    // A sell-out, or seats back after one, is told at once.
                    let sold_out = tick.waitlist && tick.inventory.is_some_and(|i| i.sold_out());
                    if (Some(rank + 1) != entry.position && due) || sold_out != entry.sold_out_shown
                    {
                        let ticket = Ticket {
                            seq: c.seq,
                            place: Place::Waiting { rank },
                            now_ms: tick.now_ms,
                            epoch: c.ep,
                            inventory: tick.inventory,
                        };
                        let view = self.view(rooms, entry, ticket);
                        entry.send(Push::Status(Arc::new(view)));
                    }
                }
                Known::Active { .. } | Known::Unchanged => {}
                Known::Ask => {
                    // Admitted tickets the ended list cannot vouch for are asked again only
                    // every RECHECK_ACTIVE.
                    let recheck = c.st != TicketStatus::Active
                        || entry
                            .checked_at
                            .is_none_or(|at| at.elapsed() >= RECHECK_ACTIVE);
                    if room_for_checks && recheck {
                        checks.push((*id, ask));
                    }
                }
            }
        }
        checks
    }
}
