//! How good the ETAs are: each estimate a buyer was given against the wait they had.
//!
//! When an answer gives a buyer their place in line (a join that creates a waiting ticket,
//! or the first status after the opening's draw numbered a pre-queue entry), this instance
//! remembers the ticket number, the time and the `eta_seconds` it answered. Admission goes
//! strictly by ticket number, so the ticket was admitted when the head of the line (the
//! promote script's `head_seq`, read several times per tick) passes it — unless it left
//! the line (the room's left list, read each tick) or the room sold out. The ticker then
//! pushes `"<estimate ms>:<actual wait ms>"` to the room's `eta` list in Redis (one call per
//! tick at most, for all the samples; the list keeps the last 10,000 across all
//! instances), and `GET /admin/rooms/{id}` reports the errors' median and 90th percentile.
//!
//! Memory is bounded: at most [`MAX_PENDING`] tickets per room are watched (later ones are
//! not sampled until the head has passed some).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use shared::contract::rooms::EtaAccuracy;

/// Most tickets watched per room.
pub const MAX_PENDING: usize = 50_000;
/// Samples kept per room (in Redis).
pub const KEPT: usize = 10_000;
/// Waits shorter than this are left out of the relative errors (a 1 s miss on a 2 s wait
/// is not a 50 % error anyone feels).
const MIN_RELATIVE_WAIT_MS: u64 = 5_000;

/// One admission: the wait promised and the wait had, ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub estimate_ms: u64,
    pub actual_ms: u64,
}

impl Sample {
    /// As stored in the room's list: `"<estimate ms>:<actual ms>"`.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.estimate_ms, self.actual_ms)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (estimate, actual) = text.split_once(':')?;
        Some(Self {
            estimate_ms: estimate.parse().ok()?,
            actual_ms: actual.parse().ok()?,
        })
    }
}

/// Per ticket number: when the estimate was given, and the estimate (ms).
type Pending = BTreeMap<i64, (Instant, u64)>;

/// The tickets this instance gave an estimate to and that are not admitted yet.
#[derive(Debug, Default)]
pub struct EtaWatch {
    rooms: Mutex<HashMap<i64, Pending>>,
}

impl EtaWatch {
    /// Ticket `seq` of `concert_id` was just told `eta_seconds`.
    pub fn given(&self, concert_id: i64, seq: i64, eta_seconds: u64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let pending = rooms.entry(concert_id).or_default();
        if pending.len() < MAX_PENDING {
            pending.insert(seq, (Instant::now(), eta_seconds.saturating_mul(1000)));
        }
    }

    /// These tickets left the line: they will not be admitted.
    pub fn left(&self, concert_id: i64, seqs: impl IntoIterator<Item = i64>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pending) = rooms.get_mut(&concert_id) {
            for seq in seqs {
                pending.remove(&seq);
            }
        }
    }

    /// The head of the line is now `head_seq`: every watched ticket below it was admitted.
    pub fn admitted_below(&self, concert_id: i64, head_seq: i64) -> Vec<Sample> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pending) = rooms.get_mut(&concert_id) else {
            return Vec::new();
        };
        let still = pending.split_off(&head_seq);
        let passed = std::mem::replace(pending, still);
        passed
            .into_values()
            .map(|(at, estimate_ms)| Sample {
                estimate_ms,
                actual_ms: at.elapsed().as_millis() as u64,
            })
            .collect()
    }

    /// Nobody of the room will be admitted (it sold out, or its line was lost).
    pub fn forget(&self, concert_id: i64) {
        self.rooms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
    }
}

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The errors' figures over `samples`.
pub fn summarize(samples: &[Sample]) -> EtaAccuracy {
    let abs_secs = sorted(
        samples
            .iter()
            .map(|s| s.estimate_ms.abs_diff(s.actual_ms) as f64 / 1000.0)
            .collect(),
    );
    let relative: Vec<f64> = samples
        .iter()
        .filter(|s| s.actual_ms >= MIN_RELATIVE_WAIT_MS)
        .map(|s| (s.estimate_ms as f64 - s.actual_ms as f64) * 100.0 / s.actual_ms as f64)
        .collect();
    let abs_pct = sorted(relative.iter().map(|r| r.abs()).collect());
    let signed_pct = sorted(relative);
    EtaAccuracy {
        samples: samples.len() as u64,
        median_abs_error_secs: quantile(&abs_secs, 0.5).map(round1),
        p90_abs_error_secs: quantile(&abs_secs, 0.9).map(round1),
        median_error_pct: quantile(&signed_pct, 0.5).map(round1),
        median_abs_error_pct: quantile(&abs_pct, 0.5).map(round1),
        p90_abs_error_pct: quantile(&abs_pct, 0.9).map(round1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_the_head_passed_are_samples_and_left_ones_are_not() {
        let watch = EtaWatch::default();
        for seq in 1..=5 {
            watch.given(7, seq, 10);
        }
        watch.left(7, [2]);
        let samples = watch.admitted_below(7, 4);
        assert_eq!(samples.len(), 2, "tickets 1 and 3");
        assert!(samples.iter().all(|s| s.estimate_ms == 10_000));
        assert_eq!(watch.admitted_below(7, 4).len(), 0);
        assert_eq!(watch.admitted_below(7, 100).len(), 2);
        assert_eq!(Sample::decode("1500:2000").unwrap().encode(), "1500:2000");
        assert_eq!(Sample::decode("x:1"), None);
    }

    #[test]
    fn the_summary_reports_absolute_and_relative_errors() {
        let samples: Vec<Sample> = [(10_000, 8_000), (20_000, 25_000), (30_000, 30_000)]
            .into_iter()
            .map(|(estimate_ms, actual_ms)| Sample {
                estimate_ms,
                actual_ms,
            })
            .collect();
        let s = summarize(&samples);
        assert_eq!(s.samples, 3);
        assert_eq!(s.median_abs_error_secs, Some(2.0));
        assert_eq!(s.p90_abs_error_secs, Some(5.0));
        // +25 %, -20 %, 0 %.
        assert_eq!(s.median_error_pct, Some(0.0));
        assert_eq!(s.median_abs_error_pct, Some(20.0));
        assert_eq!(s.p90_abs_error_pct, Some(25.0));
        assert_eq!(summarize(&[]).median_abs_error_secs, None);
    }
}
