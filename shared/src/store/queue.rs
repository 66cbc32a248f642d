//! Where a ticket stands (the status script, one ticket or many at once) and ending an
//! admission: the line's calls both services make. The gateway's own calls on the line
//! (join, leave, the admission tick, the draw) are `gateway::line`.

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

/// The place a script replied (`status` active, waiting or prequeue), if any.
pub fn place(reply: &Reply, script: &str, status: &str) -> Result<Option<Place>, StoreError> {
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

/// An epoch as scripts reply it: digits, or empty for a room without one.
pub fn epoch_of(reply: &Reply, script: &str) -> Result<u64, StoreError> {
    let text = reply.text(script, "epoch")?;
    if text.is_empty() {
        return Ok(0);
    }
    text.parse()
        .map_err(|_| StoreError::UnexpectedReply(format!("{script}: epoch {text}")))
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

    /// Ends the admission of ticket `seq` (`seq = 0`: whatever admission the user has);
    /// true when one was ended (`end_admission.lua`). Booking calls it after a payment
    /// ([`Store::after_payment`], through [`crate::admission::end`]).
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
        let reply = self
            .eval(
                "end_admission",
                &self.scripts.end_admission,
                &keys,
                (user_id, seq),
            )
            .await?;
        reply.flag("end_admission", "ended")
    }
}
