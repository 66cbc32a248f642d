//! Group commit of payments.
//!
//! Payment requests hand their database call to a few workers ([`PaymentBatcher`]). A
//! worker takes the first waiting payment and every other one already queued behind it (up
//! to `payments.batch_max`) and runs them in ONE transaction
//! (`pay_reservations_batch`, migration 0003): one round trip and one commit for the group
//! instead of one each. Each payment is still all-or-nothing on its own — it runs as a
//! subtransaction, so a refused one changes nothing while the others commit — and the
//! response a buyer gets is only sent after the group committed.
//!
//! Nothing waits to fill a group: a worker starts as soon as it has one payment, so a lone
//! payment takes the same path as before (`pay_reservations`, one call); groups form only
//! while the workers are busy, i.e. exactly when commits are the bottleneck.
//!
//! Deadlocks: a group is sorted by user id, so groups lock buyers' rows in one order.
//! Failures: a payment that failed inside a group for another reason than a refusal
//! (`TB...` SQLSTATE) is run again on its own, as is every payment of a group whose call
//! failed with an unexpected database error; connection and pool errors and the SQLSTATEs
//! that mean "not now" ([`crate::error::sqlstate::unavailable`]: a statement timeout, a
//! database shutting down) go to every payment of the group (503). Running a
//! payment again is safe whatever happened to the first attempt: the idempotency key makes
//! a committed one a replay.
//!
//! After the commit, the group's Redis cleanup — free the seat keys, end each buyer's
//! admission so the slot goes to the next in line — is one pipelined call for the whole
//! group ([`Store::after_payment`]). Booking is the one owner of that end: if Redis cannot
//! be reached, the cleanup is retried in the background until it goes through (keys and
//! admissions expire anyway); the gateway learns of the end from the room's `ended` set
//! like of any other.
//!
//! A payment handed to a worker runs to completion, cleanup included, even if the buyer's
//! connection drops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::service::Tasks;
use shared::store::seats::{PaidAdmission, SoldSeat};
use shared::store::Store;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::refusal::Refusal;
use super::store::{self, GroupRow, PayRow};
use crate::error::sqlstate;

/// Payments that may wait for a worker before callers are told the service is busy.
const QUEUE_CAPACITY: usize = 4096;

/// One payment, as `pay_reservations` takes it.
#[derive(Debug, Clone)]
pub struct PayCall {
    pub user_id: i64,
    pub concert_id: i64,
    /// The buyer's admission (queue token `seq`), ended after a new payment.
    pub seq: i64,
    /// Sorted, distinct.
    pub reservation_ids: Vec<Uuid>,
    pub key: String,
    /// Fingerprint of the request (idempotency).
    pub request_hash: String,
    /// The id the payment gets if it is new.
    pub payment_id: Uuid,
}

/// Why a payment did not go through.
#[derive(Debug)]
pub enum PayFailure {
    /// `pay_reservations` refused it; nothing changed.
    Refused(Refusal),
    /// Any other database error.
    Db(sqlx::Error),
    /// The group's transaction failed for a reason that is not the payment's (statement
    /// timeout, database shutting down): 503, nothing changed, retry with the same key.
    DatabaseUnavailable(String),
    /// The workers are gone (shutting down) or the queue is full.
    Unavailable,
}

impl PayFailure {
    fn of(e: sqlx::Error, call: &PayCall) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let code = db.code().unwrap_or_default();
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .unwrap_or_default();
            if let Some(refusal) = Refusal::from_sqlstate(&code, detail, call.concert_id) {
                return PayFailure::Refused(refusal);
            }
        }
        PayFailure::Db(e)
    }
}

/// A payment that went through (or the replay of one).
#[derive(Debug)]
pub struct Paid {
    pub row: PayRow,
    /// A new payment whose admission Redis confirmed ended at once (false for replays, and
    /// when the cleanup failed and was left to the background retry).
    pub admission_ended: bool,
}

impl Paid {
    /// The saved answer of an earlier payment, sent again.
    pub fn replay(status: axum::http::StatusCode, body: serde_json::Value) -> Self {
        Paid {
            row: PayRow {
                replayed: true,
                status: status.as_u16() as i16,
                body,
                schedule_ids: None,
                seat_nos: None,
                amount: None,
            },
            admission_ended: false,
        }
    }
}

pub type PayResult = Result<Paid, PayFailure>;

struct Job {
    call: PayCall,
    reply: oneshot::Sender<PayResult>,
}

/// Hands payments to the workers; cheap to clone.
#[derive(Clone)]
pub struct PaymentBatcher {
    queue: mpsc::Sender<Job>,
}

impl PaymentBatcher {
    /// Starts `workers` workers among the service's `tasks`, each committing up to
    /// `batch_max` payments at a time; they stop with the tasks (after the server has
    /// drained its requests).
    pub fn start(
        tasks: &mut Tasks,
        db: PgPool,
        store: Store,
        workers: usize,
        batch_max: usize,
        sold_marker_ms: u64,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            tasks.spawn(
                "payment worker",
                worker(
                    db.clone(),
                    store.clone(),
                    receiver.clone(),
                    batch_max.max(1),
                    sold_marker_ms,
                    tasks.token(),
                ),
            );
        }
        Self { queue }
    }

    /// Runs one payment (alone or in a group) and returns its outcome once committed.
    pub async fn pay(&self, call: PayCall) -> PayResult {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .try_send(Job { call, reply })
            .map_err(|_| PayFailure::Unavailable)?;
        outcome.await.unwrap_or(Err(PayFailure::Unavailable))
    }
}

async fn worker(
    db: PgPool,
    store: Store,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    batch_max: usize,
    sold_marker_ms: u64,
    stop: CancellationToken,
) {
    loop {
        // One worker at a time collects: the first waiting payment, then whatever queued
        // up behind it. The lock is released before the group runs.
        let group = {
            let mut receiver = tokio::select! {
                _ = stop.cancelled() => return,
                receiver = receiver.lock() => receiver,
            };
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                first = receiver.recv() => match first {
                    Some(first) => first,
                    None => return,
                },
            };
            let mut group = vec![first];
            while group.len() < batch_max {
                match receiver.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            group
        };
        metrics::histogram!("booking_payment_group_size").record(group.len() as f64);
        let (calls, replies): (Vec<_>, Vec<_>) =
            group.into_iter().map(|job| (job.call, job.reply)).unzip();
        let outcomes = pay_together(&db, &store, &calls, sold_marker_ms).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// Runs `calls` as one group — one transaction if there are several, then one Redis
/// cleanup (seats marked sold for `sold_marker_ms`, admissions ended) — and returns each
/// payment's outcome, in `calls` order.
pub async fn pay_together(
    db: &PgPool,
    store: &Store,
    calls: &[PayCall],
    sold_marker_ms: u64,
) -> Vec<PayResult> {
    let rows = commit_together(db, calls).await;
    let new: Vec<PaidAdmission> = calls
        .iter()
        .zip(&rows)
        .filter_map(|(call, row)| match row {
            Ok(row) if !row.replayed => Some(paid_admission(call, row)),
            _ => None,
        })
        .collect();
    let ended = !new.is_empty()
        && match store.after_payment(&new, sold_marker_ms).await {
            Ok(ended) => ended,
            Err(e) => {
                tracing::warn!(error = %e, payments = new.len(), "could not mark the seats sold \
                    and end the admissions after payment; retrying in the background");
                tokio::spawn(cleanup_later(store.clone(), new, sold_marker_ms));
                false
            }
        };
    rows.into_iter()
        .map(|row| {
            let row = row?;
            let admission_ended = ended && !row.replayed;
            Ok(Paid {
                row,
                admission_ended,
            })
        })
        .collect()
}

/// How long the cleanup of committed payments is retried while Redis cannot be reached:
/// past this, the admissions have expired at their TTL and the seat keys with them.
const CLEANUP_RETRY_FOR: Duration = Duration::from_secs(600);

/// Booking owns the end of an admission by payment: when the cleanup right after the
/// commit failed, it is retried here (backing off from 200 ms to 5 s) until it goes
/// through, so a paid ticket stops being admitted as soon as Redis answers again. Nobody
/// else is asked to do it.
async fn cleanup_later(store: Store, paid: Vec<PaidAdmission>, sold_marker_ms: u64) {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    while started.elapsed() < CLEANUP_RETRY_FOR {
        tokio::time::sleep(pause).await;
        metrics::counter!("booking_payment_cleanup_retries_total").increment(1);
        match store.after_payment(&paid, sold_marker_ms).await {
            Ok(_) => {
                tracing::info!(
                    payments = paid.len(),
                    "payments' Redis cleanup done on retry"
                );
                return;
            }
            Err(e) => tracing::debug!(error = %e, "payments' Redis cleanup failed again"),
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    tracing::warn!(
        payments = paid.len(),
        "gave up the payments' Redis cleanup: the \
        admissions and seat keys expire on their own"
    );
}

/// The buyer and seats of a new payment; a row lists its seats in the order of the
/// call's (sorted) reservation ids.
fn paid_admission(call: &PayCall, row: &PayRow) -> PaidAdmission {
    let schedules = row.schedule_ids.as_deref().unwrap_or_default();
    let seats = row.seat_nos.as_deref().unwrap_or_default();
    PaidAdmission {
        concert_id: call.concert_id,
        user_id: call.user_id,
        seq: call.seq,
        seats: schedules
            .iter()
            .zip(seats)
            .zip(&call.reservation_ids)
            .map(|((&schedule_id, &seat_no), &reservation_id)| SoldSeat {
                schedule_id,
                seat_no,
                reservation_id,
            })
            .collect(),
    }
}

/// The database part of [`pay_together`]: one call for a single payment, else the group
/// in user id order in one transaction (failed ones again on their own, see module docs).
async fn commit_together(db: &PgPool, calls: &[PayCall]) -> Vec<Result<PayRow, PayFailure>> {
    if let [call] = calls {
        return vec![pay_one(db, call).await];
    }
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls[i].user_id);
    let sorted: Vec<&PayCall> = order.iter().map(|&i| &calls[i]).collect();
    let mut outcomes: Vec<Option<Result<PayRow, PayFailure>>> =
        std::iter::repeat_with(|| None).take(calls.len()).collect();
    match store::pay_group(db, &sorted).await {
        Ok(rows) if rows.len() == calls.len() => {
            for (&i, row) in order.iter().zip(rows) {
                outcomes[i] = outcome(row, &calls[i]);
            }
        }
        Ok(rows) => tracing::error!(
            payments = calls.len(),
            rows = rows.len(),
            "payment group returned a row count that does not match; paying one by one"
        ),
        Err(e) => match Systemic::of(&e) {
            Some(kind) => {
                tracing::warn!(error = %e, payments = calls.len(), "payment group failed");
                for outcome in &mut outcomes {
                    *outcome = Some(Err(kind.failure()));
                }
            }
            None => tracing::warn!(error = %e, payments = calls.len(),
                "payment group failed; paying one by one"),
        },
    }
    let mut done = Vec::with_capacity(calls.len());
    for (call, outcome) in calls.iter().zip(outcomes) {
        done.push(match outcome {
            Some(outcome) => outcome,
            None => pay_one(db, call).await,
        });
    }
    done
}

async fn pay_one(db: &PgPool, call: &PayCall) -> Result<PayRow, PayFailure> {
    store::pay_one(db, call)
        .await
        .map_err(|e| PayFailure::of(e, call))
}

/// A payment's outcome from its group row, or `None` when it has to run again on its own
/// (it failed for another reason than a refusal, so the single call reports that error
/// the usual way — or succeeds if it was transient, such as a deadlock).
fn outcome(row: GroupRow, call: &PayCall) -> Option<Result<PayRow, PayFailure>> {
    match (row.sqlstate, row.replayed, row.status, row.body) {
        (Some(code), ..) => {
            let refusal = Refusal::from_sqlstate(
                &code,
                row.detail.as_deref().unwrap_or_default(),
                call.concert_id,
            )?;
            Some(Err(PayFailure::Refused(refusal)))
        }
        (None, Some(replayed), Some(status), Some(body)) => Some(Ok(PayRow {
            replayed,
            status,
            body,
            schedule_ids: row.schedule_ids,
            seat_nos: row.seat_nos,
            amount: row.amount,
        })),
        _ => None,
    }
}

/// Errors that say nothing about the payments themselves — no connection, pool
/// exhausted, statement timeout, server shutting down — and would only repeat (or, for a
/// timeout, hold the worker for another timeout per payment) if each payment were tried
/// again. Every payment of the group gets the error; buyers retry with the same key.
#[derive(Debug, Clone)]
enum Systemic {
    PoolTimedOut,
    PoolClosed,
    Io(std::io::ErrorKind, String),
    /// query_canceled (statement timeout), operator intervention (57P..), connection
    /// exceptions (08...), insufficient resources (53...).
    Database(String),
}

impl Systemic {
    fn of(e: &sqlx::Error) -> Option<Self> {
        match e {
            sqlx::Error::PoolTimedOut => Some(Self::PoolTimedOut),
            sqlx::Error::PoolClosed => Some(Self::PoolClosed),
            sqlx::Error::Io(io) => Some(Self::Io(io.kind(), io.to_string())),
            sqlx::Error::Database(db) => sqlstate::unavailable(&db.code().unwrap_or_default())
                .then(|| Self::Database(db.to_string())),
            _ => None,
        }
    }

    /// The same failure again, for each payment of the group (all map to 503).
    fn failure(&self) -> PayFailure {
        match self {
            Self::PoolTimedOut => PayFailure::Db(sqlx::Error::PoolTimedOut),
            Self::PoolClosed => PayFailure::Db(sqlx::Error::PoolClosed),
            Self::Io(kind, message) => {
                PayFailure::Db(sqlx::Error::Io(std::io::Error::new(*kind, message.clone())))
            }
            Self::Database(message) => PayFailure::DatabaseUnavailable(message.clone()),
        }
    }
}
