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
//! failed with an unexpected database error; connection and pool errors, a statement
//! timeout or a database shutting down go to every payment of the group (503). Running a
//! payment again is safe whatever happened to the first attempt: the idempotency key makes
//! a committed one a replay.
//!
//! After the commit, the group's Redis cleanup — free the seat keys, end each buyer's
//! admission so the slot goes to the next in line — is one pipelined call for the whole
//! group (best effort: keys and admissions expire anyway; if Redis lost its scripts the
//! calls go one by one, loading them).
//!
//! A payment handed to a worker runs to completion, cleanup included, even if the buyer's
//! connection drops.

use std::sync::Arc;

use shared::keys::Keys;
use shared::redis::{RedisCallError, RedisPool};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use crate::holds::release_key_with;
use crate::state::Scripts;

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

/// What `pay_reservations` returns: the response to send and, for a new payment, the
/// seats it sold (in reservation id order) and the amount.
#[derive(Debug, sqlx::FromRow)]
pub struct PayRow {
    pub o_replayed: bool,
    pub o_status: i16,
    pub o_body: serde_json::Value,
    pub o_schedule_ids: Option<Vec<i64>>,
    pub o_seat_nos: Option<Vec<i32>>,
    pub o_amount: Option<i64>,
}

/// Why a payment did not go through.
#[derive(Debug)]
pub enum PayFailure {
    /// `pay_reservations` refused it with one of its `TB...` SQLSTATEs (and DETAIL);
    /// nothing changed.
    Refused { code: String, detail: String },
    /// Any other database error.
    Db(sqlx::Error),
    /// The group's transaction failed for a reason that is not the payment's (statement
    /// timeout, database shutting down): 503, nothing changed, retry with the same key.
    DatabaseUnavailable(String),
    /// The workers are gone (shutting down) or the queue is full.
    Unavailable,
}

impl From<sqlx::Error> for PayFailure {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if let Some(code) = db.code().filter(|c| c.starts_with("TB")) {
                let detail = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|pg| pg.detail())
                    .unwrap_or_default();
                return PayFailure::Refused {
                    code: code.into_owned(),
                    detail: detail.to_string(),
                };
            }
        }
        PayFailure::Db(e)
    }
}

/// A payment that went through (or the replay of one).
#[derive(Debug)]
pub struct Paid {
    pub row: PayRow,
    /// A new payment whose admission Redis confirmed ended (false for replays and when
    /// the cleanup failed).
    pub admission_ended: bool,
}

pub type PayResult = Result<Paid, PayFailure>;

/// Where the after-payment cleanup goes.
#[derive(Clone)]
pub struct Cleanup {
    pub redis: RedisPool,
    pub keys: Keys,
    pub scripts: Arc<Scripts>,
}

struct Job {
    call: PayCall,
    reply: oneshot::Sender<PayResult>,
}

/// Hands payments to the workers; cheap to clone. The workers stop once every clone is
/// dropped and the queue is empty.
#[derive(Clone)]
pub struct PaymentBatcher {
    queue: mpsc::Sender<Job>,
}

impl PaymentBatcher {
    /// Starts `workers` workers on the current runtime, each committing up to `batch_max`
    /// payments at a time.
    pub fn start(db: PgPool, cleanup: Cleanup, workers: usize, batch_max: usize) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            tokio::spawn(worker(
                db.clone(),
                cleanup.clone(),
                receiver.clone(),
                batch_max.max(1),
            ));
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
    cleanup: Cleanup,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    batch_max: usize,
) {
    loop {
        // One worker at a time collects: the first waiting payment, then whatever queued
        // up behind it. The lock is released before the group runs.
        let group = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
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
        let outcomes = pay_together(&db, &cleanup, &calls).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// Runs `calls` as one group — one transaction if there are several, then one Redis
/// cleanup — and returns each payment's outcome, in `calls` order.
pub async fn pay_together(db: &PgPool, cleanup: &Cleanup, calls: &[PayCall]) -> Vec<PayResult> {
    let rows = commit_together(db, calls).await;
    let new: Vec<(&PayCall, &PayRow)> = calls
        .iter()
        .zip(&rows)
        .filter_map(|(call, row)| match row {
            Ok(row) if !row.o_replayed => Some((call, row)),
            _ => None,
        })
        .collect();
    let ended = !new.is_empty() && clean_up(cleanup, &new).await;
    rows.into_iter()
        .map(|row| {
            let row = row?;
            let admission_ended = ended && !row.o_replayed;
            Ok(Paid {
                row,
                admission_ended,
            })
        })
        .collect()
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
    match pay_group(db, &sorted).await {
        Ok(rows) if rows.len() == calls.len() => {
            for (&i, row) in order.iter().zip(rows) {
                outcomes[i] = row.into_outcome();
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

/// One payment in its own transaction.
async fn pay_one(db: &PgPool, call: &PayCall) -> Result<PayRow, PayFailure> {
    sqlx::query_as(
        "SELECT o_replayed, o_status, o_body, o_schedule_ids, o_seat_nos, o_amount
         FROM pay_reservations($1, $2, $3, $4, $5, $6)",
    )
    .bind(call.user_id)
    .bind(call.concert_id)
    .bind(&call.reservation_ids)
    .bind(&call.key)
    .bind(&call.request_hash)
    .bind(call.payment_id)
    .fetch_one(db)
    .await
    .map_err(PayFailure::from)
}

/// A group in one transaction: one row per payment, in group order.
async fn pay_group(db: &PgPool, group: &[&PayCall]) -> Result<Vec<GroupRow>, sqlx::Error> {
    let calls = group.iter().copied();
    let users: Vec<i64> = calls.clone().map(|c| c.user_id).collect();
    let concerts: Vec<i64> = calls.clone().map(|c| c.concert_id).collect();
    let counts: Vec<i32> = calls
        .clone()
        .map(|c| c.reservation_ids.len() as i32)
        .collect();
    let ids: Vec<Uuid> = calls
        .clone()
        .flat_map(|c| c.reservation_ids.iter().copied())
        .collect();
    let keys: Vec<&str> = calls.clone().map(|c| c.key.as_str()).collect();
    let hashes: Vec<&str> = calls.clone().map(|c| c.request_hash.as_str()).collect();
    let payments: Vec<Uuid> = calls.map(|c| c.payment_id).collect();
    sqlx::query_as(
        "SELECT o_replayed, o_status, o_body, o_schedule_ids, o_seat_nos, o_amount,
                o_sqlstate, o_detail
         FROM pay_reservations_batch($1, $2, $3, $4, $5, $6, $7)
         ORDER BY o_idx",
    )
    .bind(users)
    .bind(concerts)
    .bind(counts)
    .bind(ids)
    .bind(keys)
    .bind(hashes)
    .bind(payments)
    .fetch_all(db)
    .await
}

/// One payment's row of `pay_reservations_batch`.
#[derive(Debug, sqlx::FromRow)]
struct GroupRow {
    o_replayed: Option<bool>,
    o_status: Option<i16>,
    o_body: Option<serde_json::Value>,
    o_schedule_ids: Option<Vec<i64>>,
    o_seat_nos: Option<Vec<i32>>,
    o_amount: Option<i64>,
    o_sqlstate: Option<String>,
    o_detail: Option<String>,
}

impl GroupRow {
    /// The payment's outcome, or `None` when it has to run again on its own (it failed
    /// for another reason than a refusal, so the single call reports that error the usual
    /// way — or succeeds if it was transient, such as a deadlock).
    fn into_outcome(self) -> Option<Result<PayRow, PayFailure>> {
        match (self.o_sqlstate, self.o_replayed, self.o_status, self.o_body) {
            (Some(code), ..) if code.starts_with("TB") => Some(Err(PayFailure::Refused {
                code,
                detail: self.o_detail.unwrap_or_default(),
            })),
            (None, Some(o_replayed), Some(o_status), Some(o_body)) => Some(Ok(PayRow {
                o_replayed,
                o_status,
                o_body,
                o_schedule_ids: self.o_schedule_ids,
                o_seat_nos: self.o_seat_nos,
                o_amount: self.o_amount,
            })),
            _ => None,
        }
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
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                let systemic = code == "57014"
                    || code.starts_with("57P")
                    || code.starts_with("08")
                    || code.starts_with("53");
                systemic.then(|| Self::Database(db.to_string()))
            }
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

/// Frees the seat keys of the `new` payments and ends their admissions in one pipelined
/// Redis call. If Redis lost its scripts the pipeline fails with NOSCRIPT and the calls go
/// one by one, loading the scripts. True once the admission-ending calls went through.
async fn clean_up(cleanup: &Cleanup, new: &[(&PayCall, &PayRow)]) -> bool {
    // (hold key, reservation id) of every seat sold; a row lists its seats in the order of
    // the call's (sorted) reservation ids.
    let mut releases: Vec<(String, Uuid)> = Vec::new();
    for (call, row) in new {
        let schedules = row.o_schedule_ids.as_deref().unwrap_or_default();
        let seats = row.o_seat_nos.as_deref().unwrap_or_default();
        for ((&schedule_id, &seat_no), &id) in
            schedules.iter().zip(seats).zip(&call.reservation_ids)
        {
            let key = cleanup.keys.hold(call.concert_id, schedule_id, seat_no);
            releases.push((key, id));
        }
    }
    let admissions: Vec<(String, String, i64, i64)> = new
        .iter()
        .map(|(call, _)| {
            (
                cleanup.keys.active(call.concert_id),
                cleanup.keys.active_seq(call.concert_id),
                call.user_id,
                call.seq,
            )
        })
        .collect();
    let scripts = &cleanup.scripts;
    let pipelined = cleanup
        .redis
        .run("after_payment", |mut c| {
            let mut pipe = redis::pipe();
            for (key, reservation_id) in &releases {
                let mut release = scripts.release_hold.prepare_invoke();
                release.key(key).arg(reservation_id.to_string());
                pipe.invoke_script(&release).ignore();
            }
            for (active, active_seq, user_id, seq) in &admissions {
                let mut end = scripts.end_admission.prepare_invoke();
                end.key(active).key(active_seq).arg(user_id).arg(seq);
                pipe.invoke_script(&end).ignore();
            }
            async move { pipe.query_async::<()>(&mut c).await }
        })
        .await;
    match pipelined {
        Ok(()) => return true,
        Err(RedisCallError::Redis(e)) if e.code() == Some("NOSCRIPT") => {}
        Err(e) => {
            tracing::warn!(error = %e, payments = new.len(), "could not free the seat keys and \
                end the admissions after payment; they will expire");
            return false;
        }
    }
    for (key, reservation_id) in &releases {
        release_key_with(&cleanup.redis, &scripts.release_hold, key, *reservation_id).await;
    }
    let mut ended = true;
    for (call, _) in new {
        if let Err(e) = shared::redis::end_admission(
            &cleanup.redis,
            &cleanup.keys,
            &scripts.end_admission,
            call.concert_id,
            call.user_id,
            call.seq,
        )
        .await
        {
            tracing::warn!(error = %e, "could not end the admission after payment; it will expire");
            ended = false;
        }
    }
    ended
}
