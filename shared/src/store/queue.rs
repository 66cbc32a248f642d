//! The line of one concert: join, status, leave, and ending an admission.

use super::inventory::Inventory;
use super::seats::SeatKey;
use super::{Reply, Store, StoreError};

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Admitted until `expires_at_ms` (Redis server clock, ms since the epoch).
    Active { expires_at_ms: i64 },
    /// In line with `rank` buyers ahead (0 = head of the line).
    Waiting { rank: u64 },
    /// In the pre-queue of the opening at `opens_at_ms`, whose draw gives the place.
    Prequeue { opens_at_ms: i64 },
}

/// A buyer's ticket as the store holds it right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub seq: i64,
    pub place: Place,
    /// Redis server time of the read, ms (0 when the ticket was not read from Redis).
    pub now_ms: i64,
    /// The room's epoch (see [`super::room`]); 0 for a room without one.
    pub epoch: u64,
    /// The concert's seats as booking last published them (`None`: never published, or
    /// not read with this answer).
    pub inventory: Option<Inventory>,
}

/// What became of the ticket a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Found(Ticket),
    /// Dropped: left, expired, paid, or replaced by a newer ticket.
    Gone,
    /// The line it was in no longer exists (Redis lost its data; the room was created
    /// again with a new epoch).
    Reset,
    /// It was in line when the concert sold out, and the line was released (said for
    /// `active_ttl_secs` after the sell-out).
    SoldOut(Option<Inventory>),
    /// Released by the sell-out longer ago.
    GoneSoldOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The buyer's place; `created` when this call handed out the ticket.
    Placed { ticket: Ticket, created: bool },
    /// The room is closed and the buyer had no place.
    Closed,
    /// An opening is scheduled and its pre-queue opens at `prequeue_ms` (nothing written).
    NotOpen { opens_at_ms: i64, prequeue_ms: i64 },
    /// The opening has passed and the pre-queue must be frozen first
    /// ([`Store::draw_begin`]); nothing was written.
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

/// What left a room since a gateway last looked ([`Store::departures_since`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Departures {
    /// Tickets that left the line: (ticket number, time ms).
    pub left: Vec<(i64, i64)>,
    /// Admissions that ended early (paid, given up): (ticket number, time ms).
    pub ended: Vec<(i64, i64)>,
}

/// How long a left ticket stays in the room's `left` set (gateways read it every tick).
pub const LEFT_LISTED_MS: i64 = 60_000;

fn place(reply: &Reply, script: &str, status: &str) -> Result<Option<Place>, StoreError> {
    Ok(match status {
        "active" => Some(Place::Active {
            expires_at_ms: reply.int(script, "expires_at_ms")?,
        }),
        "waiting" => Some(Place::Waiting {
            rank: reply.count(script, "rank")?,
        }),
        "prequeue" => Some(Place::Prequeue {
            opens_at_ms: reply.int(script, "opens_at_ms")?,
        }),
        _ => None,
    })
}

/// A room epoch as the status script takes it ("" for none: not checked).
fn epoch_arg(epoch: u64) -> String {
    if epoch == 0 {
        String::new()
    } else {
        epoch.to_string()
    }
}

/// A status script's reply: the lookup, and the seat key it read (active tickets only).
fn lookup_of(reply: &Reply, epoch: u64) -> Result<(Lookup, Option<SeatKey>), StoreError> {
    let status = reply.text("status", "status")?;
    let Some(place) = place(reply, "status", &status)? else {
        return match status.as_str() {
            "gone" => Ok((Lookup::Gone, None)),
            "reset" => Ok((Lookup::Reset, None)),
            "sold_out" => Ok((
                Lookup::SoldOut(Inventory::from_reply(reply, "status")?),
                None,
            )),
            "gone_sold_out" => Ok((Lookup::GoneSoldOut, None)),
            other => Err(StoreError::UnexpectedReply(format!("status: {other}"))),
        };
    };
    let ticket = Ticket {
        seq: reply.int("status", "seq")?,
        place,
        now_ms: reply.int("status", "now_ms")?,
        epoch,
        inventory: Inventory::from_reply(reply, "status")?,
    };
    let seat = reply.text("status", "seat")?;
    let seat = (!seat.is_empty()).then(|| SeatKey::parse(&seat));
    Ok((Lookup::Found(ticket), seat))
}

impl Store {
    /// Puts `user_id` in line for `concert_id`, or returns the place the user already has
    /// (`join.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn join(&self, concert_id: i64, user_id: i64) -> Result<JoinOutcome, StoreError> {
        let keys = self.keys.line(concert_id);
        let script = &self.scripts.join;
        let reply: Reply = self
            .redis
            .run("queue_join", |mut c| async move {
                script
                    .key(&keys[..])
                    .arg(user_id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let status = reply.text("join", "status")?;
        if let Some(place) = place(&reply, "join", &status)? {
            return Ok(JoinOutcome::Placed {
                ticket: Ticket {
                    seq: reply.int("join", "seq")?,
                    place,
                    now_ms: reply.int("join", "now_ms")?,
                    epoch: super::room::epoch_of(&reply, "join")?,
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

    /// Where ticket `seq` of `user_id` (0: the user's pre-queue entry), issued in room epoch
    /// `epoch` (0: not checked), stands now. A pre-queue entry the draw has placed comes
    /// back with its ticket number.
    pub async fn status(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
        epoch: u64,
    ) -> Result<Lookup, StoreError> {
        Ok(self
            .status_at_seat(concert_id, user_id, seq, epoch, None)
            .await?
            .0)
    }

    /// [`Store::status`], and in the same script call, for an active ticket, what the key
    /// of `seat` (schedule id, seat number) in this concert says, if it exists
    /// (`status.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn status_at_seat(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
        epoch: u64,
        seat: Option<(i64, i32)>,
    ) -> Result<(Lookup, Option<SeatKey>), StoreError> {
        let mut keys = self.status_keys(concert_id);
        keys.extend(
            seat.map(|(schedule_id, seat_no)| self.keys.hold(concert_id, schedule_id, seat_no)),
        );
        let reply = self
            .eval(
                "queue_status",
                &self.scripts.status,
                &keys,
                (user_id, seq, epoch_arg(epoch)),
            )
            .await?;
        lookup_of(&reply, epoch)
    }

    /// [`Store::status`] of many tickets of one concert — `(user id, ticket number, room
    /// epoch)` each — in one pipelined round trip (the push streams' check of the tickets
    /// the head of the line passed).
    pub async fn status_many(
        &self,
        concert_id: i64,
        tickets: &[(i64, i64, u64)],
    ) -> Result<Vec<Lookup>, StoreError> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.status_keys(concert_id);
        let script = &self.scripts.status;
        let run = || {
            self.redis.run("queue_status_many", |mut c| {
                let mut pipe = redis::pipe();
                for &(user_id, seq, epoch) in tickets {
                    let mut invocation = script.prepare_invoke();
                    invocation
                        .key(&keys[..])
                        .arg(user_id)
                        .arg(seq)
                        .arg(epoch_arg(epoch));
                    pipe.invoke_script(&invocation);
                }
                async move { pipe.query_async::<Vec<Reply>>(&mut c).await }
            })
        };
        let replies = match run().await {
            Err(super::RedisCallError::Redis(e)) if e.code() == Some("NOSCRIPT") => {
                // Redis lost its scripts: one plain call loads it, then the pipeline runs.
                let &(user_id, seq, epoch) = &tickets[0];
                self.status(concert_id, user_id, seq, epoch).await?;
                run().await?
            }
            other => other?,
        };
        replies
            .iter()
            .zip(tickets)
            .map(|(reply, &(_, _, epoch))| Ok(lookup_of(reply, epoch)?.0))
            .collect()
    }

    fn status_keys(&self, concert_id: i64) -> Vec<String> {
        vec![
            self.keys.waiting(concert_id),
            self.keys.active(concert_id),
            self.keys.active_seq(concert_id),
            self.keys.room(concert_id),
            self.keys.inventory(concert_id),
            self.keys.prequeue(concert_id),
        ]
    }

    /// Drops ticket `seq` of `user_id`, waiting or admitted, or (`seq` 0) the user's
    /// pre-queue entry (`leave.lua`).
    #[tracing::instrument(skip(self))]
    pub async fn leave(&self, concert_id: i64, user_id: i64, seq: i64) -> Result<Left, StoreError> {
        let keys = [
            self.keys.waiting(concert_id),
            self.keys.active(concert_id),
            self.keys.active_seq(concert_id),
            self.keys.left(concert_id),
            self.keys.room(concert_id),
            self.keys.prequeue(concert_id),
            self.keys.ended(concert_id),
        ];
        let reply = self
            .eval(
                "queue_leave",
                &self.scripts.leave,
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
        let left = self.keys.left(concert_id);
        let ended = self.keys.ended(concert_id);
        let (left, ended) = self
            .redis
            .run("queue_departures", |mut c| async move {
                redis::pipe()
                    .cmd("ZRANGEBYSCORE")
                    .arg(&left)
                    .arg(left_since_ms)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .cmd("ZRANGEBYSCORE")
                    .arg(&ended)
                    .arg(ended_since_ms)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .query_async::<(Vec<(i64, i64)>, Vec<(i64, i64)>)>(&mut c)
                    .await
            })
            .await?;
        Ok(Departures { left, ended })
    }

    /// Ends the admission of ticket `seq` (`seq = 0`: whatever admission the user has);
    /// true when one was ended (`end_admission.lua`). The gateway calls it when a buyer
    /// leaves or when booking could not; booking after a payment ([`Store::after_payment`]).
    #[tracing::instrument(skip(self))]
    pub async fn end_admission(
        &self,
        concert_id: i64,
        user_id: i64,
        seq: i64,
    ) -> Result<bool, StoreError> {
        let keys = [
            self.keys.active(concert_id),
            self.keys.active_seq(concert_id),
            self.keys.ended(concert_id),
            self.keys.room(concert_id),
        ];
        let script = &self.scripts.end_admission;
        let reply: Reply = self
            .redis
            .run("end_admission", |mut c| async move {
                script
                    .key(&keys[..])
                    .arg(user_id)
                    .arg(seq)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        reply.flag("end_admission", "ended")
    }
}
