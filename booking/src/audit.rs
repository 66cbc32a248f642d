//! The invariant auditor (`booking audit`): reads the database and reports every breach of
//! the non-negotiables — a seat sold twice, a sale without exactly one payment, a negative
//! balance, a balance that its history does not explain, payments that don't add up, an
//! inventory (seats in total, held, sold per schedule) that differs from the seats, an
//! order half paid or split, a seat in two live orders, a buyer past a concert's ticket
//! limit, a valid ticket on an available seat, a refund made twice or not as recorded, a
//! cancelled ticket checked in, a cancelled show left with valid tickets.

use std::fmt;

use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    /// Rows (seats, users, payments) that break the rule; 0 means it holds.
    pub breaches: i64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Totals {
    pub charges: i64,
    pub uses: i64,
    pub refunds: i64,
    pub balances: i64,
    pub payments: i64,
    pub sold_seats: i64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.breaches == 0)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let verdict = if c.breaches == 0 { "ok" } else { "BREACH" };
            writeln!(f, "{verdict:>6}  {:<58} {}", c.name, c.breaches)?;
        }
        let t = &self.totals;
        writeln!(
            f,
            "totals: charges={} uses={} refunds={} balances={} payments={} sold_seats={}",
            t.charges, t.uses, t.refunds, t.balances, t.payments, t.sold_seats
        )?;
        writeln!(
            f,
            "verdict: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}

const CHECKS: &[(&str, &str)] = &[
    (
        "no seat has more than one confirmed reservation",
        "SELECT count(*) FROM (SELECT 1 FROM reservations WHERE status = 'CONFIRMED'
           GROUP BY schedule_id, seat_no HAVING count(*) > 1) x",
    ),
    (
        "every SOLD seat has exactly one confirmed, paid reservation",
        "SELECT count(*) FROM seats s WHERE s.status = 'SOLD' AND NOT EXISTS (
           SELECT 1 FROM reservations r JOIN payments p ON p.id = r.payment_id
           WHERE r.id = s.reservation_id AND r.status = 'CONFIRMED'
             AND r.schedule_id = s.schedule_id AND r.seat_no = s.seat_no)",
    ),
    (
        "every confirmed reservation's seat is SOLD to it",
        "SELECT count(*) FROM reservations r WHERE r.status = 'CONFIRMED' AND NOT EXISTS (
           SELECT 1 FROM seats s WHERE s.schedule_id = r.schedule_id AND s.seat_no = r.seat_no
             AND s.status = 'SOLD' AND s.reservation_id = r.id)",
    ),
    (
        "every schedule's inventory (row + pending deltas) counts its seats",
        "SELECT count(*) FROM schedules sc
           LEFT JOIN schedule_inventory i ON i.schedule_id = sc.id
           LEFT JOIN (SELECT schedule_id, sum(d_total) t, sum(d_held) h, sum(d_sold) s
                      FROM inventory_deltas GROUP BY schedule_id) d ON d.schedule_id = sc.id
           LEFT JOIN (SELECT schedule_id, count(*) t,
                             count(*) FILTER (WHERE status = 'HELD') h,
                             count(*) FILTER (WHERE status = 'SOLD') s
                      FROM seats GROUP BY schedule_id) x ON x.schedule_id = sc.id
          WHERE i.schedule_id IS NULL
             OR i.total + COALESCE(d.t, 0) <> COALESCE(x.t, 0)
             OR i.held + COALESCE(d.h, 0) <> COALESCE(x.h, 0)
             OR i.sold + COALESCE(d.s, 0) <> COALESCE(x.s, 0)",
    ),
    (
        "no order half paid: all of an order's seats are paid or none",
        "SELECT count(*) FROM (SELECT order_id FROM reservations GROUP BY order_id
           HAVING count(*) FILTER (WHERE payment_id IS NOT NULL) NOT IN (0, count(*))) x",
    ),
    (
        "every order is one buyer's, one schedule's, with one deadline",
        "SELECT count(*) FROM (SELECT order_id FROM reservations GROUP BY order_id
           HAVING count(DISTINCT user_id) > 1 OR count(DISTINCT schedule_id) > 1
               OR count(DISTINCT held_until) > 1) x",
    ),
    (
        "no seat in two live orders",
        "SELECT count(*) FROM (SELECT schedule_id, seat_no FROM reservations
           WHERE status = 'CONFIRMED' OR (status = 'HELD' AND held_until > now())
           GROUP BY schedule_id, seat_no HAVING count(DISTINCT order_id) > 1) x",
    ),
    (
        "held + bought <= the concert's ticket limit for every buyer",
        "SELECT count(*) FROM (SELECT r.user_id FROM reservations r
           JOIN concerts c ON c.id = r.concert_id
           WHERE r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.held_until > now())
           GROUP BY r.user_id, r.concert_id, c.max_tickets_per_user
           HAVING count(*) > c.max_tickets_per_user) x",
    ),
    (
        "no ticket valid while its seat is AVAILABLE",
        "SELECT count(*) FROM reservations r
           JOIN seats s ON s.schedule_id = r.schedule_id AND s.seat_no = r.seat_no
          WHERE r.status = 'CONFIRMED' AND s.status = 'AVAILABLE'",
    ),
    (
        "no refund made twice",
        "SELECT count(*) FROM (SELECT 1 FROM point_history WHERE kind = 'REFUND'
           GROUP BY user_id, reference HAVING count(*) > 1) x",
    ),
    (
        "every cancelled ticket: refund + fee = price, the refund credited once",
        "SELECT count(*) FROM reservations r WHERE r.status = 'CANCELLED' AND (
           r.refund + r.fee <> r.price
           OR (SELECT count(*) FROM point_history h
                WHERE h.user_id = r.user_id AND h.kind = 'REFUND'
                  AND h.reference = 'refund:' || r.id AND h.amount = r.refund)
              <> CASE WHEN r.refund > 0 THEN 1 ELSE 0 END)",
    ),
    (
        "no ticket its buyer cancelled was checked in",
        "SELECT count(*) FROM reservations
          WHERE status = 'CANCELLED' AND cancelled_by = 'buyer' AND checked_in_at IS NOT NULL",
    ),
    (
        "a cancelled show whose refunds are done has no valid ticket",
        "SELECT count(*) FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id
          WHERE sc.refunds_done_at IS NOT NULL AND r.status IN ('HELD', 'CONFIRMED')",
    ),
    (
        "no negative balance",
        "SELECT count(*) FROM users WHERE balance < 0",
    ),
    (
        "balance = charges - uses + refunds for every user",
        "SELECT count(*) FROM users u WHERE u.balance <> COALESCE((
           SELECT sum(CASE kind WHEN 'USE' THEN -amount ELSE amount END)
           FROM point_history h WHERE h.user_id = u.id), 0)",
    ),
    (
        "each payment's amount = its reservations' prices",
        "SELECT count(*) FROM payments p WHERE p.amount <> COALESCE((
           SELECT sum(r.price) FROM reservations r WHERE r.payment_id = p.id), -1)",
    ),
    (
        "payments' total = uses' total",
        "SELECT CASE WHEN (SELECT COALESCE(sum(amount), 0) FROM payments)
                        = (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'USE')
                     THEN 0 ELSE 1 END",
    ),
    (
        "charges = balances + payments - refunds (points conserved)",
        "SELECT CASE WHEN (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'CHARGE')
                        = (SELECT COALESCE(sum(balance), 0) FROM users)
                          + (SELECT COALESCE(sum(amount), 0) FROM payments)
                          - (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'REFUND')
                     THEN 0 ELSE 1 END",
    ),
];

/// Runs every check in one repeatable-read snapshot, so concurrent writes can't skew it.
pub async fn run(pool: &PgPool) -> Result<Report, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let mut checks = Vec::with_capacity(CHECKS.len());
    for (name, sql) in CHECKS {
        let breaches: i64 = sqlx::query_scalar(&format!("SELECT ({sql})::BIGINT"))
            .fetch_one(&mut *tx)
            .await?;
        checks.push(Check { name, breaches });
    }
    let totals: Totals = sqlx::query_as(
        "SELECT
           (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'CHARGE')::BIGINT AS charges,
           (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'USE')::BIGINT AS uses,
           (SELECT COALESCE(sum(amount), 0) FROM point_history WHERE kind = 'REFUND')::BIGINT AS refunds,
           (SELECT COALESCE(sum(balance), 0) FROM users)::BIGINT AS balances,
           (SELECT COALESCE(sum(amount), 0) FROM payments)::BIGINT AS payments,
           (SELECT count(*) FROM seats WHERE status = 'SOLD') AS sold_seats",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Report { checks, totals })
}
