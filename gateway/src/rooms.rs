//! This instance's view of the rooms: which concerts have one, and the live figures of
//! each as of its last admission tick.
//!
//! A room exists only for a concert booking knows. On first sight of a concert id one
//! request per instance asks booking (the others wait for its answer) for the room's
//! durable settings, writes the room hash with them (or with this instance's defaults
//! while no operator changed the room) and caches the answer. After Redis lost its data,
//! the scripts find the hash missing and the room is written again the same way, from
//! booking: a closed room stays closed, a throttled one throttled. An operator's change
//! goes to booking first, then to Redis, so it survives the same way.
//!
//! Unknown concerts are remembered for a few seconds, so a burst of one bad id does not
//! turn into a burst of booking calls, in a bounded map (`limits.unknown_concerts`, least
//! recently used evicted first), so a flood of different bad ids costs bounded memory.
//!
//! The figures (head of line, counts, measured admission rate, settings) come from the tick
//! results the ticker receives, so request paths never run extra Redis reads for the ETA.
//! With the room's left and ended sets they make the room's snapshot, which changes only
//! through [`Rooms::observe`] (what the ticker read, and the leaves and payments this
//! instance served), and a ticket's place is read from it only through [`Rooms::place`]
//! ([`crate::admission::place::decide`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::bounded::BoundedMap;
use shared::contract::rooms::{RoomChange, RoomPatch, StoredRoom};
use tokio::sync::Notify;

use crate::admission::accuracy::EtaWatch;
use crate::admission::place::{self, Held, Known, Snapshot};
use crate::admission::positions::{EndedTickets, LeftTickets};
use crate::forward::client::{BookingClient, BookingError};
use crate::line::Departures;
use crate::line::LineStore;
use crate::line::Tick;
use shared::store::{RoomSettings, StoreError};
use shared::token::QueueClaims;

/// How long "booking does not know this concert" is believed.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("concert {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Booking(#[from] BookingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The last figures this instance saw for a room, and when.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub tick: Tick,
    pub seen: Instant,
}

/// What this instance saw happen to a room ([`Rooms::observe`]).
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// A promote reply (the ticker).
    Tick { concert_id: i64, tick: &'a Tick },
    /// The room's `left` and `ended` sets as read after `tick` (the ticker).
    Departures {
        concert_id: i64,
        read: &'a Departures,
        tick: &'a Tick,
    },
    /// A leave of a waiting ticket this instance served (the leave script's reply).
    Left { concert_id: i64, seq: i64 },
    /// An admission given up through this instance (the leave script's reply).
    GaveUp { concert_id: i64, seq: i64 },
    /// A payment this instance forwarded and booking confirmed: booking ended the
    /// admission (it records it in the `ended` set, which the next read brings too).
    Paid { concert_id: i64, seq: i64 },
}

/// The caps of what [`Rooms`] remembers about ids clients send.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    pub unknown_concerts: usize,
    pub left_per_room: usize,
}

pub struct Rooms {
    store: LineStore,
    booking: BookingClient,
    /// What a room is created with while booking holds no settings for it (the instance's
    /// `queue.*` settings; replaced when the configuration is reloaded).
    defaults: RwLock<RoomSettings>,
    /// Concerts whose room this instance wrote or found (only ids booking knows).
    known: RwLock<HashSet<i64>>,
    /// Concert ids booking does not know, until when that is believed.
    unknown: BoundedMap<i64, Instant>,
    figures: RwLock<HashMap<i64, Figures>>,
    lookups: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the ticker when this instance creates a room.
    created: Notify,
    /// Recently left tickets per room (part of the rooms' snapshots).
    left: LeftTickets,
    /// Admissions that ended early per room (part of the rooms' snapshots).
    ended: EndedTickets,
    /// Estimates given and not yet settled by an admission.
    eta: EtaWatch,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").finish_non_exhaustive()
    }
}

impl Rooms {
    pub fn new(
        store: LineStore,
        booking: BookingClient,
        defaults: RoomSettings,
        limits: RoomLimits,
    ) -> Self {
        Self {
            store,
            booking,
            defaults: RwLock::new(defaults),
            known: RwLock::default(),
            unknown: BoundedMap::new("unknown_concerts", limits.unknown_concerts),
            figures: RwLock::default(),
            lookups: Mutex::default(),
            created: Notify::new(),
            left: LeftTickets::new(limits.left_per_room),
            ended: EndedTickets::new(limits.left_per_room),
            eta: EtaWatch::default(),
        }
    }

    /// `Some(true)` known, `Some(false)` believed unknown, `None` ask booking.
    fn cached(&self, concert_id: i64) -> Option<bool> {
        if self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&concert_id)
        {
            return Some(true);
        }
        match self.unknown.get(&concert_id) {
            Some(until) if until > Instant::now() => Some(false),
            _ => None,
        }
    }

    /// Makes sure the room of `concert_id` exists: cached, or booking knows the concert
    /// and the room hash has been written.
    pub async fn ensure(&self, concert_id: i64) -> Result<(), RoomError> {
        match self.cached(concert_id) {
            Some(true) => return Ok(()),
            Some(false) => return Err(RoomError::NotFound(concert_id)),
            None => {}
        }
        self.one_lookup(concert_id, || async {
            match self.cached(concert_id) {
                Some(true) => Ok(()),
                Some(false) => Err(RoomError::NotFound(concert_id)),
                None => self.load(concert_id).await,
            }
        })
        .await
    }

    /// Runs `work` as the only lookup of `concert_id` on this instance at a time.
    async fn one_lookup<F, Fut>(&self, concert_id: i64, work: F) -> Result<(), RoomError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), RoomError>>,
    {
        let gate = {
            let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
            lookups.entry(concert_id).or_default().clone()
        };
        let turn = gate.lock().await;
        let result = work().await;
        drop(turn);
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        // The last one out removes the gate (others may be queued on it).
        if Arc::strong_count(&gate) <= 2 {
            lookups.remove(&concert_id);
        }
        result
    }

    /// Asks booking for the room and writes it to Redis.
    async fn load(&self, concert_id: i64) -> Result<(), RoomError> {
        let Some(stored) = self.booking.room(concert_id).await? else {
            self.unknown
                .insert(concert_id, Instant::now() + NEGATIVE_TTL);
            self.forget(concert_id);
            return Err(RoomError::NotFound(concert_id));
        };
        self.unknown.remove(&concert_id);
        self.write(&stored).await
    }

    /// Writes booking's copy of a room to Redis (its settings, or the defaults, and the
    /// opening's seed).
    async fn write(&self, stored: &StoredRoom) -> Result<(), RoomError> {
        let settings = stored.settings.unwrap_or(self.defaults());
        let seed = stored.seed.as_deref().and_then(shared::draw::parse_seed);
        self.store
            .put_room(stored.concert_id, &settings, seed.as_ref(), stored.version)
            .await?;
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stored.concert_id);
        self.created.notify_one();
        Ok(())
    }

    /// Writes the room again from booking's copy: a script found its hash missing (Redis
    /// lost its data).
    pub async fn recreate(&self, concert_id: i64) -> Result<(), RoomError> {
        self.one_lookup(concert_id, || self.load(concert_id)).await
    }

    /// An operator's change: recorded in booking first (so it outlives Redis), then
    /// written to the room hash, which is created if it is missing (and the room listed
    /// for the tickers again). A configuration section passes its digest: booking applies
    /// a section once, so an operator's later change stands until the file changes.
    pub async fn change(
        &self,
        concert_id: i64,
        patch: &RoomPatch,
        config_digest: Option<String>,
    ) -> Result<(), RoomError> {
        let change = RoomChange {
            defaults: self.defaults(),
            patch: *patch,
            config_digest,
        };
        let Some(stored) = self.booking.change_room(concert_id, &change).await? else {
            return Err(RoomError::NotFound(concert_id));
        };
        self.write(&stored).await
    }

    /// Asks the ticker to look for rooms now: a room this instance has no figures for got
    /// a push stream (its ticker must run here to keep the stream true).
    pub fn watch(&self, concert_id: i64) {
        if self.figures(concert_id).is_none() {
            self.created.notify_one();
        }
    }

    /// Resolves when this instance has created a room (the ticker then looks at once).
    pub async fn room_created(&self) {
        self.created.notified().await;
    }

    /// Records what this instance saw happen to a room: the one writer of its snapshot.
    pub fn observe(&self, observed: Observed<'_>) {
        match observed {
            Observed::Tick { concert_id, tick } => {
                let mut figures = self.figures.write().unwrap_or_else(|e| e.into_inner());
                figures.insert(
                    concert_id,
                    Figures {
                        tick: *tick,
                        seen: Instant::now(),
                    },
                );
            }
            Observed::Departures {
                concert_id,
                read,
                tick,
            } => {
                self.left.merge(concert_id, &read.left, tick.head_seq);
                self.ended.merge(
                    concert_id,
                    &read.ended,
                    tick.now_ms,
                    tick.active_ttl_secs as i64 * 1000,
                );
                self.eta
                    .left(concert_id, read.left.iter().map(|&(seq, _)| seq));
            }
            Observed::Left { concert_id, seq } => {
                self.left.mark(concert_id, seq);
                self.eta.left(concert_id, [seq]);
            }
            Observed::GaveUp { concert_id, seq } | Observed::Paid { concert_id, seq } => {
                self.ended.mark(concert_id, seq)
            }
        }
    }

    /// Where the next read of the room's `left` and `ended` sets starts (Redis clock, ms).
    pub fn departures_read_since(&self, concert_id: i64) -> (i64, i64) {
        (
            self.left.since_ms(concert_id),
            self.ended.since_ms(concert_id),
        )
    }

    /// Where the ticket `claims` carries stands, as far as this instance's snapshot of its
    /// room tells ([`place::decide`]), with the figures it was told from; `None` when this
    /// instance has no figures for the room (Redis must answer).
    pub fn place(&self, claims: &QueueClaims) -> Option<(Known, Figures)> {
        let figures = self.figures(claims.cid)?;
        let known = self.place_in(&figures.tick, figures.seen.elapsed(), claims);
        Some((known, figures))
    }

    /// [`Rooms::place`] from a tick the caller already holds, read `age` ago (the push
    /// pass runs right after the tick it was handed: no lookup and copy of the figures per
    /// stream).
    pub fn place_in(&self, tick: &Tick, age: std::time::Duration, claims: &QueueClaims) -> Known {
        let snapshot = Snapshot {
            concert_id: claims.cid,
            tick,
            age,
            left: &self.left,
            ended: &self.ended,
        };
        let held = Held {
            status: claims.st,
            seq: claims.seq,
            epoch: claims.ep,
            // `exp` is the admission's expiry rounded up to the second.
            expires_at_ms: claims.exp.saturating_mul(1000),
        };
        place::decide(&snapshot, held)
    }

    /// Drops what this instance knows about a room (its hash is gone).
    pub fn forget(&self, concert_id: i64) {
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
        self.figures
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
        self.left.forget(concert_id);
        self.ended.forget(concert_id);
        self.eta.forget(concert_id);
    }

    /// How many unknown concert ids are remembered right now (at most
    /// `limits.unknown_concerts`).
    pub fn unknown_remembered(&self) -> usize {
        self.unknown.len()
    }

    /// What rooms are created with while booking holds no settings for them.
    pub fn defaults(&self) -> RoomSettings {
        *self.defaults.read().unwrap_or_else(|e| e.into_inner())
    }

    /// New defaults (the configuration was reloaded): rooms created from now on get them,
    /// and every room this instance knows that no operator has configured is rewritten
    /// with them. Returns how many rooms were rewritten.
    pub async fn set_defaults(&self, defaults: RoomSettings) -> Result<usize, RoomError> {
        {
            let mut current = self.defaults.write().unwrap_or_else(|e| e.into_inner());
            if *current == defaults {
                return Ok(0);
            }
            *current = defaults;
        }
        let known: Vec<i64> = self
            .known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        let mut rewritten = 0;
        for concert_id in known {
            let Some(stored) = self.booking.room(concert_id).await? else {
                continue;
            };
            if stored.settings.is_none() {
                let seed = stored.seed.as_deref().and_then(shared::draw::parse_seed);
                self.store
                    .put_room_defaults(concert_id, &defaults, seed.as_ref())
                    .await?;
                rewritten += 1;
            }
        }
        Ok(rewritten)
    }

    /// The estimates given and not yet settled (the join and status handlers feed it, the
    /// ticker settles it).
    pub fn eta(&self) -> &EtaWatch {
        &self.eta
    }

    /// The last figures seen for the room, if its ticker has run on this instance.
    pub fn figures(&self, concert_id: i64) -> Option<Figures> {
        self.figures
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&concert_id)
            .copied()
    }
}
