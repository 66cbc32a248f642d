//! Taking an order (named seats or best available) through both gates, and releasing one.
//! See the [module docs](super) for the rules.

use std::time::Duration;

use shared::contract::reservations::{
    HoldRequest, HoldTarget, OrderSeat, OrderView, ReservationStatus, SingleHold,
};
use shared::store::seats::{HeldSeat, SeatLock};
use uuid::Uuid;

use super::store::{self, Locked, NewOrder};
use super::{pick, unlock, Held};
use crate::auth::Buyer;
use crate::concerts::schedule_info;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, ScheduleInfo};

/// Rounds of best available: a round whose seats someone else's key holds in Redis (a
/// hold being written, or a key left by a process that died) picks again without them,
/// and a round that finds fewer candidates than asked while enough seats are left (other
/// orders have them locked, for the millisecond they take to commit) waits a little and
/// looks again — about a second in all before 503.
const BEST_ROUNDS: u32 = 14;

/// Candidates a best-available round locks: at first enough to find a run side by side in
/// rows of a few dozen seats, few enough that buyers picking at once take different
/// windows; on the later rounds (seats are scarce and contended) a few per seat asked.
fn window(count: usize, round: u32) -> i64 {
    let count = count as i64;
    if round == 0 {
        (count * 8 + 16).min(256)
    } else {
        count * 3
    }
}

/// The wait before round `round` (> 0) looks again: 5, 10, 20, 40, then 80 ms, with jitter.
fn backoff(round: u32) -> Duration {
    let base = 5u64 << (round - 1).min(4);
    Duration::from_millis(base + rand::random::<u64>() % (base / 2 + 1))
}

/// `POST /v1/reservations`.
pub async fn take(state: &AppState, buyer: Buyer, request: HoldRequest) -> ApiResult<Held> {
    let target = request.target().map_err(ApiError::Invalid)?;
    let info = schedule_info(state, request.schedule_id)
        .await?
        .ok_or(ApiError::SeatNotFound)?;
    buyer.require_concert(info.concert_id)?;
    if let HoldTarget::Seats { seat_nos, .. } = &target {
        if seat_nos.iter().any(|n| *n < 1 || *n > info.total_seats) {
            return Err(ApiError::SeatNotFound);
        }
    }
    if info.starts_at <= chrono::Utc::now() {
        return Err(ApiError::ScheduleClosed);
    }
    buyer.require_admitted(state).await?;
    let order = Order {
        state,
        buyer,
        info,
        schedule_id: request.schedule_id,
    };
    match target {
        HoldTarget::Seats { seat_nos, single } => order.named(&seat_nos, single).await,
        HoldTarget::Best {
            count,
            grade,
            section,
        } => {
            order
                .best(count, section.as_deref(), grade.as_deref())
                .await
        }
    }
}

/// An order being taken.
struct Order<'a> {
    state: &'a AppState,
    buyer: Buyer,
    info: ScheduleInfo,
    schedule_id: i64,
}

impl Order<'_> {
    /// Named seats: Redis first (all keys or none), then PostgreSQL.
    async fn named(&self, seat_nos: &[i32], single: bool) -> ApiResult<Held> {
        let order_id = Uuid::now_v7();
        // A one-seat order's id is its reservation's.
        let seats: Vec<HeldSeat> = seat_nos
            .iter()
            .map(|&seat_no| HeldSeat {
                seat_no,
                reservation_id: if single { order_id } else { Uuid::now_v7() },
            })
            .collect();
        match self.lock(&seats).await? {
            SeatLock::Won => {}
            SeatLock::Taken(taken) if taken.iter().all(|(_, k)| k.held_by(self.buyer.user_id)) => {
                return self.own_order(seat_nos, single).await;
            }
            SeatLock::Taken(taken) => {
                return Err(ApiError::SeatsTaken(
                    taken.iter().map(|(n, _)| *n).collect(),
                ))
            }
        }
        let result = self.write(order_id, &seats, single).await;
        if !matches!(result, Ok(Held::New(_))) {
            self.unlock(&seats).await;
        }
        result
    }

    /// The buyer's own order of exactly these seats, asked for again: given back as it is.
    /// While the first attempt is still being written, 503 with `Retry-After`.
    async fn own_order(&self, seat_nos: &[i32], single: bool) -> ApiResult<Held> {
        let mut conn = self.state.db.acquire().await?;
        let mine =
            store::live_holds_of(&mut conn, self.buyer.user_id, self.schedule_id, seat_nos).await?;
        if mine.is_empty() {
            return Err(ApiError::Problem(
                shared::Problem::new(
                    shared::Code::ServiceUnavailable,
                    "your earlier hold of these seats is still being made; retry shortly",
                )
                .with_retry_after(1),
            ));
        }
        let order_id = mine[0].1;
        let rows = store::order(&mut conn, order_id).await?;
        let same = mine.len() == seat_nos.len()
            && mine.iter().all(|(_, o)| *o == order_id)
            && rows.len() == seat_nos.len();
        if !same {
            return Err(ApiError::SeatsTaken(mine.iter().map(|(n, _)| *n).collect()));
        }
        Ok(Held::Again(view(order_id, rows, single)))
    }

    /// Best available: in one transaction, lock a window of candidates (skipping rows other
    /// orders are taking), pick, take the picked seats' keys, write.
    async fn best(
        &self,
        count: usize,
        section: Option<&str>,
        grade: Option<&str>,
    ) -> ApiResult<Held> {
        let mut tx = self.state.db.begin().await?;
        self.check_limits(&mut tx, count).await?;
        let mut excluded: Vec<i32> = Vec::new();
        let mut contended = false;
        for round in 0..BEST_ROUNDS {
            if contended {
                tokio::time::sleep(backoff(round)).await;
            }
            let candidates = store::lock_candidates(
                &mut tx,
                self.schedule_id,
                section,
                grade,
                &excluded,
                window(count, round),
            )
            .await?;
            if candidates.len() < count {
                let available =
                    store::count_available(&mut tx, self.schedule_id, section, grade).await?;
                if available < count as i64 {
                    return Err(ApiError::NotEnoughSeats(available));
                }
                // Enough seats, but other orders are taking them right now.
                contended = true;
                continue;
            }
            let places: Vec<pick::Candidate> = candidates
                .iter()
                .map(|c| pick::Candidate {
                    seat_no: c.seat_no,
                    section: c.section.clone(),
                    row: c.row_label.clone(),
                    number: c.number,
                })
                .collect();
            let picked: Vec<(Locked, Uuid)> = pick::best(&places, count)
                .into_iter()
                .map(|i| (candidates[i].clone(), Uuid::now_v7()))
                .collect();
            let seats: Vec<HeldSeat> = picked
                .iter()
                .map(|(s, id)| HeldSeat {
                    seat_no: s.seat_no,
                    reservation_id: *id,
                })
                .collect();
            match self.lock(&seats).await? {
                SeatLock::Won => {}
                SeatLock::Taken(taken) => {
                    excluded.extend(taken.iter().map(|(n, _)| *n));
                    continue;
                }
            }
            let written = self.commit(tx, Uuid::now_v7(), &picked, false).await;
            if written.is_err() {
                self.unlock(&seats).await;
            }
            return written;
        }
        Err(ApiError::Problem(
            shared::Problem::new(
                shared::Code::ServiceUnavailable,
                "the seats asked for are being taken by other buyers right now; retry shortly",
            )
            .with_retry_after(1),
        ))
    }

    /// The show not cancelled, the ticket limit (held + bought for the concert, with this
    /// order) and the hold limit (held now, every concert), under the buyer's row lock.
    async fn check_limits(&self, conn: &mut sqlx::PgConnection, count: usize) -> ApiResult<()> {
        store::lock_user(conn, self.buyer.user_id).await?;
        let limit = self.info.max_tickets_per_user;
        let counts = store::counts(
            conn,
            self.buyer.user_id,
            self.info.concert_id,
            self.schedule_id,
        )
        .await?;
        if counts.cancelled {
            return Err(ApiError::ScheduleClosed);
        }
        if counts.owned + count as i64 > i64::from(limit) {
            return Err(ApiError::TicketLimit {
                limit,
                owned: counts.owned,
            });
        }
        let max = self.state.settings.holds.max_per_user;
        if counts.holding + count as i64 > i64::from(max) {
            return Err(ApiError::HoldLimit(max));
        }
        Ok(())
    }

    /// The named order's transaction: limits, the seats locked and taken if every one is
    /// available now, the reservations written. Seats this buyer already holds as one order
    /// (Redis had lost the keys) are that order given back.
    async fn write(&self, order_id: Uuid, seats: &[HeldSeat], single: bool) -> ApiResult<Held> {
        let mut tx = self.state.db.begin().await?;
        let seat_nos: Vec<i32> = seats.iter().map(|s| s.seat_no).collect();
        let mine =
            store::live_holds_of(&mut tx, self.buyer.user_id, self.schedule_id, &seat_nos).await?;
        if !mine.is_empty() {
            drop(tx);
            return self.own_order(&seat_nos, single).await;
        }
        self.check_limits(&mut tx, seats.len()).await?;
        let locked = store::lock_seats(&mut tx, self.schedule_id, &seat_nos).await?;
        if locked.len() != seats.len() {
            return Err(ApiError::SeatNotFound);
        }
        let taken: Vec<i32> = locked
            .iter()
            .filter(|s| !s.available)
            .map(|s| s.seat_no)
            .collect();
        if !taken.is_empty() {
            return Err(if single {
                ApiError::SeatUnavailable
            } else {
                ApiError::SeatsTaken(taken)
            });
        }
        let picked: Vec<(Locked, Uuid)> = locked
            .into_iter()
            .zip(seats)
            .map(|(l, s)| (l, s.reservation_id))
            .collect();
        self.commit(tx, order_id, &picked, single).await
    }

    /// Writes the order's seats and reservations in `tx`, commits, and answers with it.
    async fn commit(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        order_id: Uuid,
        picked: &[(Locked, Uuid)],
        single: bool,
    ) -> ApiResult<Held> {
        let held_until = store::insert_order(
            &mut tx,
            &NewOrder {
                order_id,
                user_id: self.buyer.user_id,
                concert_id: self.info.concert_id,
                schedule_id: self.schedule_id,
                seats: picked,
            },
            self.state.settings.holds.ttl_secs,
        )
        .await?;
        tx.commit().await?;
        Ok(Held::New(new_view(
            order_id,
            picked,
            held_until,
            self.schedule_id,
            single,
        )))
    }

    /// The Redis gate: every seat's key for this order, or none.
    async fn lock(&self, seats: &[HeldSeat]) -> ApiResult<SeatLock> {
        Ok(self
            .state
            .store
            .lock_seats(
                self.info.concert_id,
                self.schedule_id,
                seats,
                self.buyer.user_id,
                self.state.settings.holds.ttl_secs,
            )
            .await?)
    }

    async fn unlock(&self, seats: &[HeldSeat]) {
        unlock(
            self.state,
            self.info.concert_id,
            self.schedule_id,
            self.buyer.user_id,
            seats,
        )
        .await;
    }
}

/// The answer of an order just written.
fn new_view(
    order_id: Uuid,
    seats: &[(Locked, Uuid)],
    held_until: chrono::DateTime<chrono::Utc>,
    schedule_id: i64,
    single: bool,
) -> OrderView {
    let reservations: Vec<OrderSeat> = seats
        .iter()
        .map(|(s, id)| OrderSeat {
            reservation_id: *id,
            schedule_id,
            seat_no: s.seat_no,
            section: s.section.clone(),
            row: s.row_label.clone(),
            number: s.number,
            grade: s.grade.clone(),
            price: s.price,
            status: ReservationStatus::Held,
            held_until,
        })
        .collect();
    with_single(order_id, reservations, None, single)
}

/// An order's answer from its rows (`single`: with the one-seat form's top-level fields).
pub fn view(order_id: Uuid, rows: Vec<store::OrderRow>, single: bool) -> OrderView {
    let payment_id = rows.first().and_then(|r| r.payment_id);
    let reservations = rows.into_iter().map(|r| r.seat).collect();
    with_single(order_id, reservations, payment_id, single)
}

fn with_single(
    order_id: Uuid,
    reservations: Vec<OrderSeat>,
    payment_id: Option<Uuid>,
    single: bool,
) -> OrderView {
    let held_until = reservations
        .iter()
        .map(|r| r.held_until)
        .min()
        .unwrap_or_default();
    let single = (single && reservations.len() == 1).then(|| {
        let r = &reservations[0];
        SingleHold {
            reservation_id: r.reservation_id,
            schedule_id: r.schedule_id,
            seat_no: r.seat_no,
            price: r.price,
            status: r.status,
            payment_id,
        }
    });
    OrderView {
        order_id,
        held_until,
        amount: reservations.iter().map(|r| r.price).sum(),
        reservations,
        single,
    }
}

/// Releases the buyer's order: every live hold of it at once. An order already over
/// (expired, released) is a no-op (204); a paid one cannot be released (409).
pub async fn release(
    state: &AppState,
    buyer: Buyer,
    order_id: Uuid,
) -> ApiResult<axum::http::StatusCode> {
    let mut tx = state.db.begin().await?;
    store::lock_user(&mut tx, buyer.user_id).await?;
    let rows = store::order(&mut tx, order_id).await?;
    let first = rows.first().ok_or(ApiError::ReservationNotFound)?;
    super::check_owner(first.user_id, first.concert_id, buyer)?;
    if rows
        .iter()
        .any(|r| r.seat.status == ReservationStatus::Confirmed)
    {
        return Err(ApiError::ReservationNotHeld(
            ReservationStatus::Confirmed.as_str().into(),
        ));
    }
    let held: Vec<&store::OrderRow> = rows
        .iter()
        .filter(|r| r.seat.status == ReservationStatus::Held)
        .collect();
    if held.is_empty() {
        return Ok(axum::http::StatusCode::NO_CONTENT);
    }
    let ids: Vec<Uuid> = held.iter().map(|r| r.seat.reservation_id).collect();
    store::release(&mut tx, &ids).await?;
    tx.commit().await?;
    let seats: Vec<HeldSeat> = held
        .iter()
        .map(|r| HeldSeat {
            seat_no: r.seat.seat_no,
            reservation_id: r.seat.reservation_id,
        })
        .collect();
    let (concert_id, schedule_id) = (first.concert_id, held[0].seat.schedule_id);
    unlock(state, concert_id, schedule_id, buyer.user_id, &seats).await;
    metrics::counter!("booking_holds_total", "outcome" => "released").increment(1);
    Ok(axum::http::StatusCode::NO_CONTENT)
}
