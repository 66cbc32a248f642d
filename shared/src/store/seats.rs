//! Seat keys: booking's fast gate for holds, and the "sold" marker after a payment.
//!
//! A hold first takes its seats' keys (`seat_lock.lua`: every key of the order with
//! `SET PX <ttl>` if none is taken, else none, in one script call): of many buyers racing
//! for a seat one wins, the others stop here without touching PostgreSQL (which stays the
//! source of truth). A key holds `<reservation id>:<user id>`, so a buyer who retries a
//! hold whose answer was lost is recognised as its owner. Releasing is a compare-and-delete
//! (`release_hold.lua`), so a late release never frees a seat someone else holds now. After a payment the key becomes `sold` for `holds.sold_marker_hours`
//! (`seat_sold.lua`): later attempts on the seat stop in Redis too.

use uuid::Uuid;

use super::{Store, StoreError};
use crate::store::RedisCallError;

/// What a seat's key says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatKey {
    /// A live hold of `user_id`'s reservation.
    Held { reservation_id: Uuid, user_id: i64 },
    /// Sold.
    Sold,
    /// A value this version does not read (e.g. written by an older one): taken.
    Taken,
}

impl SeatKey {
    /// The key value of a hold.
    pub fn hold_value(reservation_id: Uuid, user_id: i64) -> String {
        format!("{reservation_id}:{user_id}")
    }

    /// Reads a key's value.
    pub fn parse(value: &str) -> Self {
        if value == "sold" {
            return SeatKey::Sold;
        }
        value
            .split_once(':')
            .and_then(|(r, u)| Some((r.parse().ok()?, u.parse().ok()?)))
            .map_or(SeatKey::Taken, |(reservation_id, user_id)| SeatKey::Held {
                reservation_id,
                user_id,
            })
    }

    /// Whether `user_id` holds the seat.
    pub fn held_by(&self, user_id: i64) -> bool {
        matches!(self, SeatKey::Held { user_id: u, .. } if *u == user_id)
    }
}

/// The outcome of [`Store::lock_seats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatLock {
    /// Every key of the order is the caller's now.
    Won,
    /// None was taken: these seats' keys are someone's (maybe the caller's, see
    /// [`SeatKey::held_by`]), by seat number.
    Taken(Vec<(i32, SeatKey)>),
}

/// A seat of a hold and the reservation that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldSeat {
    pub seat_no: i32,
    pub reservation_id: Uuid,
}

/// A seat a payment sold, under the reservation that held it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoldSeat {
    pub schedule_id: i64,
    pub seat_no: i32,
    pub reservation_id: Uuid,
}

/// A new payment's buyer and seats, for [`Store::after_payment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidAdmission {
    pub concert_id: i64,
    pub user_id: i64,
    /// The admission's ticket number (the queue token's `seq`).
    pub seq: i64,
    pub seats: Vec<SoldSeat>,
}

impl Store {
    /// Takes the keys of every seat of `user_id`'s new order for `ttl_secs`, or none of
    /// them and says who has those that are taken.
    pub async fn lock_seats(
        &self,
        concert_id: i64,
        schedule_id: i64,
        seats: &[HeldSeat],
        user_id: i64,
        ttl_secs: u64,
    ) -> Result<SeatLock, StoreError> {
        let keys: Vec<String> = seats
            .iter()
            .map(|s| self.keys.hold(concert_id, schedule_id, s.seat_no))
            .collect();
        let mut args = vec![ttl_secs.saturating_mul(1000).to_string()];
        args.extend(
            seats
                .iter()
                .map(|s| SeatKey::hold_value(s.reservation_id, user_id)),
        );
        let reply = self
            .eval("seat_lock", &self.scripts.seat_lock, &keys, args)
            .await?;
        if reply.flag("seat_lock", "won")? {
            return Ok(SeatLock::Won);
        }
        let holders = reply.texts("seat_lock", "holders")?;
        Ok(SeatLock::Taken(
            seats
                .iter()
                .zip(holders)
                .filter(|(_, holder)| !holder.is_empty())
                .map(|(seat, holder)| (seat.seat_no, SeatKey::parse(&holder)))
                .collect(),
        ))
    }

    /// Frees the keys of `user_id`'s seats that still hold their reservation; returns how
    /// many it freed.
    pub async fn unlock_seats(
        &self,
        concert_id: i64,
        schedule_id: i64,
        seats: &[HeldSeat],
        user_id: i64,
    ) -> Result<u64, StoreError> {
        if seats.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = seats
            .iter()
            .map(|s| self.keys.hold(concert_id, schedule_id, s.seat_no))
            .collect();
        let values: Vec<String> = seats
            .iter()
            .map(|s| SeatKey::hold_value(s.reservation_id, user_id))
            .collect();
        let reply = self
            .eval("hold_release", &self.scripts.release_hold, &keys, values)
            .await?;
        reply.count("release_hold", "released")
    }

    /// Removes the `sold` markers of these seats (a ticket cancelled: the seat sells again);
    /// a key that holds anything else is left alone. How many it removed.
    pub async fn unmark_sold(
        &self,
        concert_id: i64,
        schedule_id: i64,
        seat_nos: &[i32],
    ) -> Result<u64, StoreError> {
        let keys: Vec<String> = seat_nos
            .iter()
            .map(|&seat_no| self.keys.hold(concert_id, schedule_id, seat_no))
            .collect();
        let values = vec!["sold"; seat_nos.len()];
        let reply = self
            .eval("unmark_sold", &self.scripts.release_hold, &keys, values)
            .await?;
        reply.count("release_hold", "released")
    }

    /// Marks a sold seat's key (see the module docs); true when it was marked.
    pub async fn mark_sold(
        &self,
        concert_id: i64,
        seat: &SoldSeat,
        user_id: i64,
        marker_ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let keys = [self.keys.hold(concert_id, seat.schedule_id, seat.seat_no)];
        let reply = self
            .eval(
                "seat_sold",
                &self.scripts.seat_sold,
                &keys,
                (
                    SeatKey::hold_value(seat.reservation_id, user_id),
                    marker_ttl_ms,
                ),
            )
            .await?;
        reply.flag("seat_sold", "marked")
    }

    /// After payments committed: marks their seats sold (for `marker_ttl_ms`) and ends
    /// their buyers' admissions (so the slots go to the next in line), one pipelined call
    /// per concert (a pipeline stays in one concert's slot, for Redis Cluster), the
    /// concerts' calls at once. If Redis lost its scripts a pipeline fails with NOSCRIPT and
    /// its calls go one by one, loading them. True once every admission-ending call went
    /// through.
    pub async fn after_payment(
        &self,
        paid: &[PaidAdmission],
        marker_ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut concerts: Vec<i64> = paid.iter().map(|p| p.concert_id).collect();
        concerts.sort_unstable();
        concerts.dedup();
        let calls = concerts.into_iter().map(|concert_id| {
            let group: Vec<&PaidAdmission> =
                paid.iter().filter(|p| p.concert_id == concert_id).collect();
            self.after_payment_in(group, marker_ttl_ms)
        });
        for result in futures::future::join_all(calls).await {
            result?;
        }
        Ok(true)
    }

    /// [`Store::after_payment`] of one concert's payments.
    async fn after_payment_in(
        &self,
        paid: Vec<&PaidAdmission>,
        marker_ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let scripts = &self.scripts;
        let keys = &self.keys;
        let pipelined = self
            .redis
            .run("after_payment", |mut c| {
                let mut pipe = redis::pipe();
                for p in &paid {
                    for seat in &p.seats {
                        let mut sold = scripts.seat_sold.prepare_invoke();
                        sold.key(keys.hold(p.concert_id, seat.schedule_id, seat.seat_no))
                            .arg(SeatKey::hold_value(seat.reservation_id, p.user_id))
                            .arg(marker_ttl_ms);
                        pipe.invoke_script(&sold).ignore();
                    }
                    let mut end = scripts.end_admission.prepare_invoke();
                    end.key(keys.active(p.concert_id))
                        .key(keys.active_seq(p.concert_id))
                        .key(keys.ended(p.concert_id))
                        .key(keys.room(p.concert_id))
                        .arg(p.user_id)
                        .arg(p.seq);
                    pipe.invoke_script(&end).ignore();
                }
                async move { pipe.query_async::<()>(&mut c).await }
            })
            .await;
        match pipelined {
            Ok(()) => return Ok(()),
            Err(RedisCallError::Redis(e)) if e.code() == Some("NOSCRIPT") => {}
            Err(e) => return Err(e.into()),
        }
        for p in paid {
            for seat in &p.seats {
                self.mark_sold(p.concert_id, seat, p.user_id, marker_ttl_ms)
                    .await?;
            }
            self.end_admission(p.concert_id, p.user_id, p.seq).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_keys_name_their_holder() {
        let id = Uuid::now_v7();
        let key = SeatKey::parse(&SeatKey::hold_value(id, 42));
        assert_eq!(
            key,
            SeatKey::Held {
                reservation_id: id,
                user_id: 42
            }
        );
        assert!(key.held_by(42) && !key.held_by(7));
        assert_eq!(SeatKey::parse("sold"), SeatKey::Sold);
        assert!(!SeatKey::Sold.held_by(42));
        assert_eq!(SeatKey::parse(&id.to_string()), SeatKey::Taken);
    }
}
