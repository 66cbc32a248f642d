//! Seat locks (booking's fast gate for holds) and the cleanup after a payment.
//!
//! A hold first takes `SET <seat key> <reservation id> NX PX <ttl>`: of many buyers racing
//! for one seat one wins, the others stop here without touching PostgreSQL (which stays
//! the source of truth). Releasing is a compare-and-delete (`release_hold.lua`), so a late
//! release never frees a seat someone else holds now.

use uuid::Uuid;

use super::{Store, StoreError};
use crate::store::RedisCallError;

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
    /// Takes the seat's lock for `reservation_id` for `ttl_secs`; false when someone holds
    /// it.
    pub async fn lock_seat(
        &self,
        concert_id: i64,
        schedule_id: i64,
        seat_no: i32,
        reservation_id: Uuid,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let key = self.keys.hold(concert_id, schedule_id, seat_no);
        let value = reservation_id.to_string();
        let won = self
            .redis
            .run("hold_set_nx", |mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_secs.saturating_mul(1000))
                    .query_async::<Option<String>>(&mut c)
                    .await
            })
            .await?;
        Ok(won.is_some())
    }

    /// Frees the seat's lock if `reservation_id` still holds it; true when it did.
    pub async fn unlock_seat(
        &self,
        concert_id: i64,
        schedule_id: i64,
        seat_no: i32,
        reservation_id: Uuid,
    ) -> Result<bool, StoreError> {
        let keys = [self.keys.hold(concert_id, schedule_id, seat_no)];
        let reply = self
            .eval(
                "hold_release",
                &self.scripts.release_hold,
                &keys,
                reservation_id.to_string(),
            )
            .await?;
        reply.flag("release_hold", "released")
    }

    /// After payments committed: frees their seats' locks and ends their buyers'
    /// admissions (so the slots go to the next in line), in one pipelined call. If Redis
    /// lost its scripts the pipeline fails with NOSCRIPT and the calls go one by one,
    /// loading them. True once every admission-ending call went through.
    pub async fn after_payment(&self, paid: &[PaidAdmission]) -> Result<bool, StoreError> {
        let scripts = &self.scripts;
        let keys = &self.keys;
        let pipelined = self
            .redis
            .run("after_payment", |mut c| {
                let mut pipe = redis::pipe();
                for p in paid {
                    for seat in &p.seats {
                        let mut release = scripts.release_hold.prepare_invoke();
                        release
                            .key(keys.hold(p.concert_id, seat.schedule_id, seat.seat_no))
                            .arg(seat.reservation_id.to_string());
                        pipe.invoke_script(&release).ignore();
                    }
                    let mut end = scripts.end_admission.prepare_invoke();
                    end.key(keys.active(p.concert_id))
                        .key(keys.active_seq(p.concert_id))
                        .arg(p.user_id)
                        .arg(p.seq);
                    pipe.invoke_script(&end).ignore();
                }
                async move { pipe.query_async::<()>(&mut c).await }
            })
            .await;
        match pipelined {
            Ok(()) => return Ok(true),
            Err(RedisCallError::Redis(e)) if e.code() == Some("NOSCRIPT") => {}
            Err(e) => return Err(e.into()),
        }
        for p in paid {
            for seat in &p.seats {
                self.unlock_seat(
                    p.concert_id,
                    seat.schedule_id,
                    seat.seat_no,
                    seat.reservation_id,
                )
                .await?;
            }
            self.end_admission(p.concert_id, p.user_id, p.seq).await?;
        }
        Ok(true)
    }
}
