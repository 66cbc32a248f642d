//! A concurrent sale for the system tests: many [`crate::buyer`]s through the stack's
//! gateways, every answer kept, so a test can ask what buyers saw while a dependency was
//! down — how many 503s, whether all carried `Retry-After`, any 500, the slowest answer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::buyer::{Call, Client, Journey, Outcome, Seats};
use crate::stack::Stack;

pub struct SaleSpec {
    pub concert_id: i64,
    pub schedule_id: i64,
    pub buyers: i64,
    pub first_user: i64,
    /// The price of a seat: each buyer charges this much first (twice as much for a pair).
    pub price: i64,
    pub within: Duration,
}

pub struct Sale {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub paid: Arc<AtomicUsize>,
    /// The gateway URLs buyers use; a killed instance is removed (the load balancer's
    /// health check).
    pub urls: Arc<RwLock<Vec<String>>>,
    pub admitted_at: Arc<Mutex<Vec<Instant>>>,
    handles: Vec<tokio::task::JoinHandle<Outcome>>,
    stop: Arc<AtomicBool>,
}

impl Sale {
    pub fn start(stack: &Stack, spec: SaleSpec) -> Sale {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let client = Client::new(stack.client.clone(), stack.urls.clone(), move |call| {
            recorded.lock().unwrap().push(call)
        });
        let paid = Arc::new(AtomicUsize::new(0));
        let admitted_at = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let until = Instant::now() + spec.within;
        let handles = (0..spec.buyers)
            .map(|i| {
                let mut buyer = client.buyer(i as usize);
                let (paid, stop, admitted_at) = (paid.clone(), stop.clone(), admitted_at.clone());
                let journey = Journey {
                    concert_id: spec.concert_id,
                    schedule_id: spec.schedule_id,
                    user_id: spec.first_user + i,
                    seats: Seats::FromMap,
                    // Every other buyer comes with a friend: two seats, one order.
                    pair: i % 2 == 1,
                };
                // Enough points for the seats the buyer is after.
                let price = spec.price * if journey.pair { 2 } else { 1 };
                tokio::spawn(async move {
                    if !buyer.charge(journey.user_id, price, until, &stop).await {
                        return Outcome::GaveUp("charge".into());
                    }
                    let outcome = buyer
                        .buy(journey, until, &stop, || {
                            admitted_at.lock().unwrap().push(Instant::now())
                        })
                        .await;
                    if matches!(outcome, Outcome::Paid { .. }) {
                        paid.fetch_add(1, Ordering::SeqCst);
                    }
                    outcome
                })
            })
            .collect();
        Sale {
            calls,
            paid,
            urls: client.urls.clone(),
            admitted_at,
            handles,
            stop,
        }
    }

    pub fn paid(&self) -> usize {
        self.paid.load(Ordering::SeqCst)
    }

    /// Waits until `n` buyers have paid (so a fault lands mid-sale).
    pub async fn wait_paid(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.paid() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} buyers paid within {within:?}; calls so far: {}",
                self.paid(),
                summary(&self.calls.lock().unwrap())
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Calls started in `[from, to)`.
    pub fn calls_between(&self, from: Instant, to: Instant) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.started >= from && c.started < to)
            .cloned()
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits for every buyer and returns their outcomes.
    pub async fn finish(self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for handle in self.handles {
            outcomes.push(handle.await.expect("a buyer task panicked"));
        }
        self.stop.store(true, Ordering::SeqCst);
        outcomes
    }
}

/// Status counts of some calls, for failure messages.
pub fn summary(calls: &[Call]) -> String {
    let mut counts = std::collections::BTreeMap::<(u16, &str), usize>::new();
    for c in calls {
        *counts.entry((c.status, c.what)).or_default() += 1;
    }
    format!("{counts:?}")
}
