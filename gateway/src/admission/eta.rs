//! Estimated wait and polling advice for a waiting buyer.
//!
//! **Rate** (buyers admitted per second), best evidence first:
//! 1. measured: admissions over the last minute divided by the time from the first to the
//!    last of them plus one tick (n + 1 ticks of admissions span n ticks), so a sale that
//!    opened 10 s ago is not averaged over a whole minute, and the figure is the same just
//!    after a tick and just before the next (measured up to "now", the rate looked up to a
//!    tick slower between ticks);
//! 2. nothing admitted for a minute while the room is full: `capacity / active_ttl_secs`,
//!    the rate at which admissions that run their full time free slots;
//! 3. otherwise the configured `batch_size / tick_ms`.
//!
//! **ETA**: the buyer at position p is admitted once p buyers have been: `ceil(p / per
//! tick)` ticks, the first of them half a tick away on average, so `(ticks - 0.5) × tick`
//! seconds (rounded, at least 1). Measured against the waits buyers then had
//! ([`super::accuracy`], `eta-bench`): the median error at steady admission is within ±2 %
//! of the wait; with the rate measured up to "now" and `ceil(p / rate)` it was +11–13 %.
//!
//! **Polling**: `poll_after_ms = clamp(eta / 4, 1 s, 30 s)`, then shortened by a random
//! 0–15 % (never below 1 s) so buyers who joined together do not poll together. Near the head a buyer polls every
//! second; a buyer a minute away every ~15 s; anyone more than two minutes away every ~30 s.
//! With N buyers waiting and rate r, status traffic is about `N / 30 + 18 r` requests per
//! second instead of N. An admitted buyer is told to check back after half the admission's
//! remaining time (1 s to 30 s).

use rand::Rng;

use crate::line::Tick;

pub const MIN_POLL_MS: u64 = 1_000;
pub const MAX_POLL_MS: u64 = 30_000;

/// Buyers admitted per second, from a tick's figures (see the module docs).
pub fn admission_rate(tick: &Tick) -> f64 {
    let tick_ms = tick.tick_ms.max(1) as f64;
    if tick.admitted_last_minute > 0 {
        let window_ms = (tick.log_span_ms as f64 + tick_ms).clamp(tick_ms, 60_000.0);
        return tick.admitted_last_minute as f64 * 1000.0 / window_ms;
    }
    if tick.capacity > 0 && tick.active >= tick.capacity {
        return tick.capacity as f64 / tick.active_ttl_secs.max(1) as f64;
    }
    tick.batch_size as f64 * 1000.0 / tick_ms
}

/// Seconds until the buyer at `position` (1 = head) is admitted at `rate` per second,
/// admissions coming in ticks of `tick_ms`: the buyer needs `ceil(position / per tick)`
/// ticks, and the first of them comes half a tick from now on average, so the expected
/// wait is `(ticks - 0.5) × tick` — rounded to the second (halves to even, so whole-second
/// ticks do not all round up), at least 1 s.
pub fn eta_seconds(position: u64, rate: f64, tick_ms: u64) -> u64 {
    if position == 0 {
        return 0;
    }
    if rate <= 0.0 || !rate.is_finite() {
        return u64::MAX / 1000;
    }
    let tick_s = (tick_ms.max(10) as f64) / 1000.0;
    let per_tick = rate * tick_s;
    let ticks = (position as f64 / per_tick).ceil();
    (((ticks - 0.5) * tick_s).round_ties_even() as u64).max(1)
}

/// How long a waiting buyer with this ETA should wait before asking again.
pub fn poll_after_waiting_ms(eta_seconds: u64) -> u64 {
    let base = (eta_seconds.saturating_mul(1000) / 4).clamp(MIN_POLL_MS, MAX_POLL_MS);
    let jittered = (base as f64 * rand::rng().random_range(0.85..=1.0)) as u64;
    jittered.max(MIN_POLL_MS)
}

/// How long a buyer in the pre-queue should wait before asking again: every ~30 s while
/// the opening is far, then just after the opening plus a random 0–3 s, so a pre-queue of
/// millions does not ask all in the same millisecond (the draw takes that long anyway).
pub fn poll_after_prequeue_ms(until_open_ms: i64) -> u64 {
    let until = until_open_ms.max(0) as u64;
    if until > MAX_POLL_MS {
        return (MAX_POLL_MS as f64 * rand::rng().random_range(0.85..=1.0)) as u64;
    }
    (until + rand::rng().random_range(0..=3_000)).max(MIN_POLL_MS)
}

/// How long an admitted buyer should wait before asking again.
pub fn poll_after_active_ms(remaining_ms: i64) -> u64 {
    (remaining_ms.max(0) as u64 / 2).clamp(MIN_POLL_MS, MAX_POLL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick() -> Tick {
        Tick {
            ran: true,
            admitted: 0,
            dropped: 0,
            waiting: 1000,
            active: 0,
            head_seq: 1,
            admitted_last_minute: 0,
            tick_ms: 1000,
            capacity: 500,
            batch_size: 100,
            active_ttl_secs: 600,
            mode: shared::store::RoomMode::Open,
            now_ms: 0,
            log_span_ms: 0,
            epoch: 1,
            inventory: None,
            sold_out: false,
            waitlist: true,
            opening: Default::default(),
        }
    }

    #[test]
    fn measured_rate_wins_and_uses_the_span_of_the_log() {
        // 300 admitted over the last 2 s of ticks (span 2 s + one tick = 3 s).
        let t = Tick {
            admitted_last_minute: 300,
            log_span_ms: 2000,
            ..tick()
        };
        assert!((admission_rate(&t) - 100.0).abs() < 1e-9);
        // A full minute of history is averaged over the minute.
        let t = Tick {
            admitted_last_minute: 600,
            log_span_ms: 59_500,
            ..tick()
        };
        assert!((admission_rate(&t) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn without_data_a_full_room_uses_capacity_over_ttl_else_the_configured_rate() {
        assert!((admission_rate(&tick()) - 100.0).abs() < 1e-9);
        let full = Tick {
            active: 500,
            ..tick()
        };
        assert!((admission_rate(&full) - 500.0 / 600.0).abs() < 1e-9);
    }

    #[test]
    fn eta_counts_whole_ticks_the_first_half_a_tick_away() {
        assert_eq!(eta_seconds(0, 10.0, 1_000), 0);
        // 10 per 1 s tick: positions 1-10 in the next tick (0.5 s, said 1 s).
        assert_eq!(eta_seconds(1, 10.0, 1_000), 1);
        assert_eq!(eta_seconds(10, 10.0, 1_000), 1);
        // 1,000 at 100 per second: 10 ticks, 9.5 s; 11 ticks, 10.5 s.
        assert_eq!(eta_seconds(1000, 100.0, 1_000), 10);
        assert_eq!(eta_seconds(1001, 100.0, 1_000), 10);
        assert_eq!(eta_seconds(1101, 100.0, 1_000), 12);
        // 50 per 5 s tick: position 120 needs 3 ticks, 12.5 s.
        assert_eq!(eta_seconds(120, 10.0, 5_000), 12);
        assert!(eta_seconds(5, 0.0, 1_000) > 1_000_000);
    }

    #[test]
    fn polling_slows_down_with_distance_from_the_head() {
        assert_eq!(poll_after_waiting_ms(0), MIN_POLL_MS);
        assert_eq!(poll_after_waiting_ms(2), MIN_POLL_MS);
        let minute = poll_after_waiting_ms(60);
        assert!((12_750..=15_000).contains(&minute), "{minute}");
        let far = poll_after_waiting_ms(10_000);
        assert!((25_500..=MAX_POLL_MS).contains(&far), "{far}");
        assert_eq!(poll_after_active_ms(600_000), MAX_POLL_MS);
        assert_eq!(poll_after_active_ms(1_500), MIN_POLL_MS);
    }
}
