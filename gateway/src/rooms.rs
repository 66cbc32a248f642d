//! This instance's view of the rooms: which concerts have one, and the live figures of
//! each as of its last admission tick.
//!
//! A room exists only for a concert booking knows. On first sight of a concert id one
//! request per instance asks booking (the others wait for its answer), creates the room
//! hash with this instance's defaults and caches the answer; unknown concerts are cached for
//! a few seconds so a burst of bad ids does not turn into a burst of booking calls.
//!
//! The figures (head of line, counts, measured admission rate, settings) come from the tick
//! results the ticker receives, so request paths never run extra Redis reads for the ETA.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::admission::positions::{self, LeftTickets};
use crate::forward::client::{BookingClient, BookingError};
use shared::store::{RoomSettings, Store, StoreError, Tick};

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

#[derive(Debug, Clone, Copy)]
enum Known {
    Exists,
    Missing { until: Instant },
}

/// The last figures this instance saw for a room, and when.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub tick: Tick,
    pub seen: Instant,
}

pub struct Rooms {
    store: Store,
    booking: BookingClient,
    /// What a new room is created with (the instance's `queue.*` settings).
    defaults: RoomSettings,
    known: RwLock<HashMap<i64, Known>>,
    figures: RwLock<HashMap<i64, Figures>>,
    lookups: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the ticker when this instance creates a room.
    created: Notify,
    /// Recently left tickets per room, for [`Rooms::waiting_rank`].
    left: LeftTickets,
}

impl std::fmt::Debug for Rooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms").finish_non_exhaustive()
    }
}

impl Rooms {
    pub fn new(store: Store, booking: BookingClient, defaults: RoomSettings) -> Self {
        Self {
            store,
            booking,
            defaults,
            known: RwLock::default(),
            figures: RwLock::default(),
            lookups: Mutex::default(),
            created: Notify::new(),
            left: LeftTickets::default(),
        }
    }

    fn cached(&self, concert_id: i64) -> Option<Known> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        match known.get(&concert_id) {
            Some(Known::Missing { until }) if *until <= Instant::now() => None,
            other => other.copied(),
        }
    }

    fn remember(&self, concert_id: i64, state: Known) {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        known.insert(concert_id, state);
    }

    /// Makes sure the room of `concert_id` exists: cached, or booking knows the concert
    /// and the room hash has been created.
    pub async fn ensure(&self, concert_id: i64) -> Result<(), RoomError> {
        match self.cached(concert_id) {
            Some(Known::Exists) => return Ok(()),
            Some(Known::Missing { .. }) => return Err(RoomError::NotFound(concert_id)),
            None => {}
        }
        let gate = {
            let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
            lookups.entry(concert_id).or_default().clone()
        };
        let _turn = gate.lock().await;
        let result = match self.cached(concert_id) {
            Some(Known::Exists) => Ok(()),
            Some(Known::Missing { .. }) => Err(RoomError::NotFound(concert_id)),
            None => self.look_up(concert_id).await,
        };
        self.lookups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
        result
    }

    async fn look_up(&self, concert_id: i64) -> Result<(), RoomError> {
        if !self.booking.concert_exists(concert_id).await? {
            self.remember(
                concert_id,
                Known::Missing {
                    until: Instant::now() + NEGATIVE_TTL,
                },
            );
            return Err(RoomError::NotFound(concert_id));
        }
        self.recreate(concert_id).await
    }

    /// Creates the room hash for a concert known to exist (also used when a script finds
    /// the hash missing, e.g. after Redis lost its data).
    pub async fn recreate(&self, concert_id: i64) -> Result<(), RoomError> {
        self.store.create_room(concert_id, &self.defaults).await?;
        self.remember(concert_id, Known::Exists);
        self.created.notify_one();
        Ok(())
    }

    /// Resolves when this instance has created a room (the ticker then looks at once).
    pub async fn room_created(&self) {
        self.created.notified().await;
    }

    /// Stores the figures of a tick result.
    pub fn record(&self, concert_id: i64, tick: Tick) {
        let mut figures = self.figures.write().unwrap_or_else(|e| e.into_inner());
        figures.insert(
            concert_id,
            Figures {
                tick,
                seen: Instant::now(),
            },
        );
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
    }

    /// What new rooms are created with.
    pub fn defaults(&self) -> &RoomSettings {
        &self.defaults
    }

    /// The recently left tickets of each room (the ticker and the leave handler feed it).
    pub fn left(&self) -> &LeftTickets {
        &self.left
    }

    /// The 0-based rank of waiting ticket `seq` when this instance can tell it from
    /// memory; `None` when Redis must answer (see [`positions`]).
    pub fn waiting_rank(&self, concert_id: i64, seq: i64) -> Option<u64> {
        let figures = self.figures(concert_id)?;
        let rank = positions::rank_from_figures(&figures.tick, figures.seen.elapsed(), seq)?;
        self.left.known_present(concert_id, seq).then_some(rank)
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
