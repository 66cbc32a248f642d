//! Per-address limit on joins (`rate_limit.joins_per_sec`, `rate_limit.burst`; 0 = off):
//! a token bucket per client IP, in memory on each instance, so one client cannot mint
//! tickets for thousands of user ids. The address is the TCP peer; behind a proxy that is
//! the proxy, so limit at the proxy instead and leave this off.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::settings::RateLimitSettings;

/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
pub struct JoinLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl JoinLimiter {
    /// `None` when the limit is off.
    pub fn new(settings: &RateLimitSettings) -> Option<Self> {
        (settings.joins_per_sec > 0).then(|| Self {
            per_sec: settings.joins_per_sec as f64,
            burst: settings.burst.max(1) as f64,
            buckets: Mutex::default(),
        })
    }

    /// Takes one join from `ip`'s bucket, or says after how many seconds to retry.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < burst);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_sec;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_at_the_configured_rate() {
        let limiter = JoinLimiter::new(&RateLimitSettings {
            joins_per_sec: 2,
            burst: 3,
        })
        .unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(ip, t0).is_ok());
        }
        assert_eq!(limiter.check_at(ip, t0), Err(1));
        assert!(limiter.check_at("10.0.0.2".parse().unwrap(), t0).is_ok());
        assert!(limiter
            .check_at(ip, t0 + Duration::from_millis(500))
            .is_ok());
        assert!(limiter
            .check_at(ip, t0 + Duration::from_millis(500))
            .is_err());
    }

    #[test]
    fn zero_means_off() {
        assert!(JoinLimiter::new(&RateLimitSettings {
            joins_per_sec: 0,
            burst: 5
        })
        .is_none());
    }
}
