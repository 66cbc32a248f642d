//! The gateway's calls on a concert's line: join (`join.lua`), leave (`leave.lua`, which
//! ends an admission with the shared body `lib/end_admission.lua`), and reading what left
//! the line since the last tick (the room snapshot's departures).

use shared::store::inventory::Inventory;
use shared::store::queue::{epoch_of, place};
use shared::store::{StoreError, Ticket};

use super::{LineStore, SCRIPTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The buyer's place; `created` when this call handed out the ticket.
    Placed { ticket: Ticket, created: bool },
    /// The room is closed and the buyer had no place.
    Closed,
    /// An opening is scheduled and its pre-queue opens at `prequeue_ms` (nothing written).
    NotOpen { opens_at_ms: i64, prequeue_ms: i64 },
    /// The opening has passed and the pre-queue must be frozen first
    /// ([`LineStore::draw_begin`]); nothing was written.
    Unfrozen,
    /// Every seat is sold and the buyer had no place.
    SoldOut,
    /// The room hash is missing from Redis (e.g. after a flush); nothing was written.
    NoRoom,
}

/// What a leave dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The ticket was waiting in line.
    Waiting,
    /// The ticket was admitted; its slot goes to the next in line.
    Active,
    /// The entry left the pre-queue before the opening.
    Prequeue,
    /// Nothing: the ticket was already gone.
    Nothing,
}

/// What left a room since a gateway last looked ([`LineStore::departures_since`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Departures {
    /// Tickets that left the line: (ticket number, time ms).
    pub left: Vec<(i64, i64)>,
    /// Admissions that ended early (paid, given up): (ticket number, time ms).
    pub ended: Vec<(i64, i64)>,
}

/// Tickets with a time, as the `left` and `ended` sets hold them: (ticket number, ms).
type Seen = Vec<(i64, i64)>;

/// How long a left ticket stays in the room's `left` set (gateways read it every tick).
pub const LEFT_LISTED_MS: i64 = 60_000;

impl LineStore {
    /// Puts `user_id` in line for `concert_id`, or returns the place the user already has
    /// (`join.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn join(&self, concert_id: i64, user_id: i64) -> Result<JoinOutcome, StoreError> {
        let keys = self.keys().line(concert_id);
        let reply = self
            .eval("queue_join", &SCRIPTS.join, &keys, user_id)
            .await?;
        let status = reply.text("join", "status")?;
        if let Some(place) = place(&reply, "join", &status)? {
            return Ok(JoinOutcome::Placed {
                ticket: Ticket {
                    seq: reply.int("join", "seq")?,
                    place,
                    now_ms: reply.int("join", "now_ms")?,
                    epoch: epoch_of(&reply, "join")?,
                    inventory: Inventory::from_reply(&reply, "join")?,
                },
                created: reply.flag("join", "created")?,
            });
        }
        match status.as_str() {
            "closed" => Ok(JoinOutcome::Closed),
            "sold_out" => Ok(JoinOutcome::SoldOut),
            "not_open" => Ok(JoinOutcome::NotOpen {
                opens_at_ms: reply.int("join", "opens_at_ms")?,
                prequeue_ms: reply.int("join", "prequeue_ms")?,
            }),
            "unfrozen" => Ok(JoinOutcome::Unfrozen),
            "noroom" => Ok(JoinOutcome::NoRoom),
            other => Err(StoreError::UnexpectedReply(format!("join: status {other}"))),
        }
    }

    /// Drops ticket `seq` of `user_id`, waiting or admitted, or (`seq` 0) the user's
    /// pre-queue entry (`leave.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn leave(&self, concert_id: i64, user_id: i64, seq: i64) -> Result<Left, StoreError> {
        let keys = [
            self.keys().waiting(concert_id),
            self.keys().active(concert_id),
            self.keys().active_seq(concert_id),
            self.keys().left(concert_id),
            self.keys().room(concert_id),
            self.keys().prequeue(concert_id),
            self.keys().ended(concert_id),
        ];
        let reply = self
            .eval(
                "queue_leave",
                &SCRIPTS.leave,
                &keys,
                (user_id, seq, LEFT_LISTED_MS),
            )
            .await?;
        match reply.text("leave", "left")?.as_str() {
            "waiting" => Ok(Left::Waiting),
            "active" => Ok(Left::Active),
            "prequeue" => Ok(Left::Prequeue),
            "none" => Ok(Left::Nothing),
            other => Err(StoreError::UnexpectedReply(format!("leave: left {other}"))),
        }
    }

    /// Tickets that left the line of `concert_id` at or after `left_since_ms`, and
    /// admissions that ended at or after `ended_since_ms` (Redis clock), each as
    /// `(ticket number, time ms)`, oldest first: one pipelined call.
    pub async fn departures_since(
        &self,
        concert_id: i64,
        left_since_ms: i64,
        ended_since_ms: i64,
    ) -> Result<Departures, StoreError> {
        let left = self.keys().left(concert_id);
        let ended = self.keys().ended(concert_id);
        let mut pipe = redis::pipe();
        for (key, since_ms) in [(&left, left_since_ms), (&ended, ended_since_ms)] {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(key)
                .arg(since_ms)
                .arg("+inf")
                .arg("WITHSCORES");
        }
        let (left, ended): (Seen, Seen) = self.pipeline("queue_departures", pipe).await?;
        Ok(Departures { left, ended })
    }
}
