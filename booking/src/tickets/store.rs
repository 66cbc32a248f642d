//! The SQL of tickets: the list, check-in, a buyer's cancellation, a show's cancellation
//! and its refunds. Lock order as everywhere: users → seats → reservations.

use chrono::{DateTime, Utc};
use shared::contract::tickets::{Checkin, PaidTicketStatus, ScheduleAdmin};
use sqlx::PgConnection;
use uuid::Uuid;

/// A ticket as stored, before its code is signed.
#[derive(Debug, sqlx::FromRow)]
pub struct TicketRow {
    pub ticket_id: Uuid,
    pub user_id: i64,
    pub concert_id: i64,
    pub title: String,
    pub schedule_id: i64,
    pub starts_at: DateTime<Utc>,
    pub seat_no: i32,
    pub section: String,
    pub row: String,
    pub number: i32,
    pub grade: String,
    pub price: i64,
    pub status: PaidTicketStatus,
    pub paid_at: DateTime<Utc>,
    pub cancel_until: DateTime<Utc>,
    pub show_cancelled: bool,
}

const TICKET_SELECT: &str = "
    SELECT r.id AS ticket_id, r.user_id, r.concert_id, c.title, r.schedule_id, sc.starts_at,
           r.seat_no, s.section, s.row_label AS row, s.number, s.grade, r.price,
           CASE WHEN r.status = 'CANCELLED' THEN 'CANCELLED'
                WHEN r.checked_in_at IS NOT NULL THEN 'CHECKED_IN'
                ELSE 'VALID' END AS status,
           p.paid_at, sc.cancel_until, sc.cancelled_at IS NOT NULL AS show_cancelled
      FROM reservations r
      JOIN schedules sc ON sc.id = r.schedule_id
      JOIN concerts c ON c.id = r.concert_id
      JOIN seats s ON s.schedule_id = r.schedule_id AND s.seat_no = r.seat_no
      JOIN payments p ON p.id = r.payment_id";

/// The buyer's tickets, newest purchase first (at most `limit`).
pub async fn of_user(
    conn: &mut PgConnection,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<TicketRow>> {
    sqlx::query_as(&format!(
        "{TICKET_SELECT}
         WHERE r.user_id = $1 AND r.status IN ('CONFIRMED', 'CANCELLED')
         ORDER BY r.id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One ticket.
pub async fn find(conn: &mut PgConnection, ticket_id: Uuid) -> sqlx::Result<Option<TicketRow>> {
    sqlx::query_as(&format!(
        "{TICKET_SELECT} WHERE r.id = $1 AND r.status IN ('CONFIRMED', 'CANCELLED')"
    ))
    .bind(ticket_id)
    .fetch_optional(conn)
    .await
}

/// Checks the ticket in if it is valid now and its code's claims are its own; `None` when
/// it is not (already in, cancelled, or no such ticket: [`find`] says which).
pub async fn check_in(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    schedule_id: i64,
    seat_no: i32,
    user_id: i64,
) -> sqlx::Result<Option<Checkin>> {
    sqlx::query_as(
        "WITH c AS (
             UPDATE reservations SET checked_in_at = clock_timestamp()
              WHERE id = $1 AND schedule_id = $2 AND seat_no = $3 AND user_id = $4
                AND status = 'CONFIRMED' AND checked_in_at IS NULL
             RETURNING id, schedule_id, seat_no, checked_in_at)
         SELECT c.id AS ticket_id, c.seat_no, s.section, s.row_label AS row, s.number,
                c.checked_in_at
           FROM c JOIN seats s ON s.schedule_id = c.schedule_id AND s.seat_no = c.seat_no",
    )
    .bind(ticket_id)
    .bind(schedule_id)
    .bind(seat_no)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// When the ticket was checked in, if it was.
pub async fn checked_in_at(
    conn: &mut PgConnection,
    ticket_id: Uuid,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT checked_in_at FROM reservations WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(conn)
        .await
        .map(Option::flatten)
}

/// The seat of a ticket back to AVAILABLE, and the ticket CANCELLED with its refund and
/// fee — only while it is a valid ticket not checked in (false otherwise: nothing changed).
pub async fn cancel(
    conn: &mut PgConnection,
    ticket: &TicketRow,
    refund: i64,
    fee: i64,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE schedule_id = $1 AND seat_no = $2 AND reservation_id = $3 AND status = 'SOLD'",
    )
    .bind(ticket.schedule_id)
    .bind(ticket.seat_no)
    .bind(ticket.ticket_id)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE reservations
            SET status = 'CANCELLED', cancelled_at = now(), cancelled_by = 'buyer',
                refund = $2, fee = $3
          WHERE id = $1 AND status = 'CONFIRMED' AND checked_in_at IS NULL",
    )
    .bind(ticket.ticket_id)
    .bind(refund)
    .bind(fee)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Credits `amount` refunded points to the buyer (their row is locked) and records it;
/// the balance after.
pub async fn refund(
    conn: &mut PgConnection,
    user_id: i64,
    amount: i64,
    reference: &str,
) -> sqlx::Result<i64> {
    let balance: i64 = sqlx::query_scalar(
        "UPDATE users SET balance = balance + $2, updated_at = now() WHERE id = $1
         RETURNING balance",
    )
    .bind(user_id)
    .bind(amount)
    .fetch_one(&mut *conn)
    .await?;
    if amount > 0 {
        sqlx::query(
            "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
             VALUES ($1, 'REFUND', $2, $3, $4)",
        )
        .bind(user_id)
        .bind(amount)
        .bind(balance)
        .bind(reference)
        .execute(conn)
        .await?;
    }
    Ok(balance)
}

/// Marks the show cancelled (it stops selling) and lets its live holds go; false when
/// there is no such schedule. Cancelling twice changes nothing.
pub async fn cancel_show(conn: &mut PgConnection, schedule_id: i64) -> sqlx::Result<bool> {
    let found: Option<bool> = sqlx::query_scalar(
        "UPDATE schedules SET cancelled_at = COALESCE(cancelled_at, now()), bookable = false
         WHERE id = $1 RETURNING true",
    )
    .bind(schedule_id)
    .fetch_optional(&mut *conn)
    .await?;
    if found.is_none() {
        return Ok(false);
    }
    release_holds(conn, schedule_id).await?;
    Ok(true)
}

/// Releases every hold of a cancelled show (seats, then reservations).
pub async fn release_holds(conn: &mut PgConnection, schedule_id: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE schedule_id = $1 AND status = 'HELD'",
    )
    .bind(schedule_id)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query(
        "UPDATE reservations SET status = 'RELEASED' WHERE schedule_id = $1 AND status = 'HELD'",
    )
    .bind(schedule_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Schedules cancelled whose refunds are not all made (with when they were cancelled).
pub async fn refunding(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "SELECT id, cancelled_at FROM schedules
         WHERE cancelled_at IS NOT NULL AND refunds_done_at IS NULL ORDER BY id",
    )
    .fetch_all(conn)
    .await
}

/// A ticket refunded with its show: who gets what.
#[derive(Debug, sqlx::FromRow)]
pub struct Refunded {
    pub id: Uuid,
    pub user_id: i64,
    pub price: i64,
}

/// Refunds up to `batch` valid tickets of a cancelled show in full, in one transaction:
/// buyers locked (in id order), seats AVAILABLE, tickets CANCELLED, balances credited, one
/// REFUND history row per ticket. A ticket is refunded once: only CONFIRMED ones are
/// touched, and the rows other refunders have locked are skipped. Returns the tickets
/// refunded (0: none left).
pub async fn refund_show_batch(
    conn: &mut PgConnection,
    schedule_id: i64,
    batch: i64,
) -> sqlx::Result<usize> {
    let picked: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT id, user_id FROM reservations
         WHERE schedule_id = $1 AND status = 'CONFIRMED' ORDER BY id LIMIT $2",
    )
    .bind(schedule_id)
    .bind(batch)
    .fetch_all(&mut *conn)
    .await?;
    if picked.is_empty() {
        return Ok(0);
    }
    let mut users: Vec<i64> = picked.iter().map(|(_, u)| *u).collect();
    users.sort_unstable();
    users.dedup();
    let ids: Vec<Uuid> = picked.iter().map(|(id, _)| *id).collect();
    sqlx::query("SELECT 1 FROM users WHERE id = ANY ($1) ORDER BY id FOR UPDATE")
        .bind(&users)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL, held_until = NULL
         WHERE reservation_id = ANY ($1) AND status = 'SOLD'",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    let mut refunded: Vec<Refunded> = sqlx::query_as(
        "UPDATE reservations
            SET status = 'CANCELLED', cancelled_at = now(), cancelled_by = 'show',
                refund = price, fee = 0
          WHERE id = ANY ($1) AND status = 'CONFIRMED'
         RETURNING id, user_id, price",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    refunded.sort_by_key(|r| (r.user_id, r.id));
    // Per buyer: one credit, one history row per ticket with the balance after it.
    let mut i = 0;
    while i < refunded.len() {
        let user = refunded[i].user_id;
        let mine: Vec<&Refunded> = refunded[i..]
            .iter()
            .take_while(|r| r.user_id == user)
            .collect();
        let total: i64 = mine.iter().map(|r| r.price).sum();
        let balance: i64 = sqlx::query_scalar(
            "UPDATE users SET balance = balance + $2, updated_at = now() WHERE id = $1
             RETURNING balance",
        )
        .bind(user)
        .bind(total)
        .fetch_one(&mut *conn)
        .await?;
        let mut after = balance - total;
        let (mut amounts, mut balances, mut references) = (vec![], vec![], vec![]);
        for r in &mine {
            after += r.price;
            amounts.push(r.price);
            balances.push(after);
            references.push(format!("refund:{}", r.id));
        }
        sqlx::query(
            "INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
             SELECT $1, 'REFUND', a, b, r FROM unnest($2::BIGINT[], $3::BIGINT[], $4::TEXT[])
                 AS t(a, b, r)",
        )
        .bind(user)
        .bind(&amounts)
        .bind(&balances)
        .bind(&references)
        .execute(&mut *conn)
        .await?;
        i += mine.len();
    }
    Ok(refunded.len())
}

/// Marks a cancelled show's refunds done.
pub async fn refunds_done(conn: &mut PgConnection, schedule_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE schedules SET refunds_done_at = now() WHERE id = $1")
        .bind(schedule_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A schedule's admin view.
pub async fn schedule_admin(
    conn: &mut PgConnection,
    schedule_id: i64,
) -> sqlx::Result<Option<ScheduleAdmin>> {
    sqlx::query_as(
        "SELECT sc.id AS schedule_id, sc.concert_id, sc.starts_at, sc.total_seats,
                sc.cancel_until, sc.cancelled_at IS NOT NULL AS cancelled, sc.cancelled_at,
                (SELECT count(*) FROM reservations r
                  WHERE r.schedule_id = sc.id AND r.status = 'CANCELLED'
                    AND r.cancelled_by = 'show') AS refunded,
                CASE WHEN sc.cancelled_at IS NULL THEN 0 ELSE
                  (SELECT count(*) FROM reservations r
                    WHERE r.schedule_id = sc.id AND r.status = 'CONFIRMED') END AS to_refund,
                (SELECT count(*) FROM reservations r
                  WHERE r.schedule_id = sc.id AND r.status = 'CONFIRMED') AS tickets
         FROM schedules sc WHERE sc.id = $1",
    )
    .bind(schedule_id)
    .fetch_optional(conn)
    .await
}
