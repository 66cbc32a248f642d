//! Join limits: a token bucket per client address (`rate_limit.joins_per_sec`, `burst`)
//! and one per user (`rate_limit.user_joins_per_sec`, `user_burst`); 0 turns either off.
//! Over the limit: 429 `RATE_LIMITED` with `Retry-After`. The address limit stops one
//! client from minting tickets for thousands of user ids (mode `none`) or trying thousands
//! of stolen identities; the user limit stops one account's join/leave loop.
//!
//! The client address is the TCP peer, unless the peer is one of
//! `rate_limit.trusted_proxies`: then it is the right-most address of `X-Forwarded-For`
//! that is not itself a trusted proxy (what the nearest trusted proxy saw). A client's own
//! `X-Forwarded-For` is never believed, so it cannot pick a fresh bucket per request.
//!
//! Buckets live in memory on each instance, in a [`BoundedMap`] of `limits.limiter_buckets`
//! entries per limiter: O(1) per join, the least recently used bucket evicted first (an
//! evicted bucket was idle the longest, so it was most likely full anyway). Metrics:
//! `rate_limited_total{limit = address|user}`, `bounded_entries{map = join_limit_address
//! | join_limit_user}`.

use std::net::IpAddr;
use std::time::Instant;

use crate::bounded::BoundedMap;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::settings::{LimitsSettings, RateLimitSettings};

/// The two join limits of one instance.
#[derive(Debug)]
pub struct JoinLimits {
    address: Option<Buckets<IpAddr>>,
    user: Option<Buckets<i64>>,
    trusted: Vec<IpNet>,
}

impl JoinLimits {
    pub fn new(settings: &RateLimitSettings, limits: &LimitsSettings) -> Self {
        Self {
            address: Buckets::new(
                "join_limit_address",
                settings.joins_per_sec,
                settings.burst,
                limits.limiter_buckets,
            ),
            user: Buckets::new(
                "join_limit_user",
                settings.user_joins_per_sec,
                settings.user_burst,
                limits.limiter_buckets,
            ),
            trusted: settings.trusted().unwrap_or_default(),
        }
    }

    /// The client's address (see the module docs).
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        client_address(peer, headers, &self.trusted)
    }

    /// One join from this client address; `Err(retry_after_secs)` over the limit.
    pub fn check_address(&self, client: Option<IpAddr>) -> Result<(), u64> {
        match (&self.address, client) {
            (Some(buckets), Some(ip)) => buckets.take(ip, Instant::now()).inspect_err(|_| {
                metrics::counter!("rate_limited_total", "limit" => "address").increment(1)
            }),
            _ => Ok(()),
        }
    }

    /// One join of `user_id`; `Err(retry_after_secs)` over the limit.
    pub fn check_user(&self, user_id: i64) -> Result<(), u64> {
        match &self.user {
            Some(buckets) => buckets.take(user_id, Instant::now()).inspect_err(|_| {
                metrics::counter!("rate_limited_total", "limit" => "user").increment(1)
            }),
            None => Ok(()),
        }
    }
}

/// The client address: the peer, or, from a trusted proxy, the right-most untrusted
/// address of `X-Forwarded-For` (every header line, in order).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip),
            // Garbage in the header: the last trusted hop is all that is known.
            Err(_) => return Some(client),
        }
    }
    Some(client)
}

#[derive(Debug)]
struct Buckets<K: std::hash::Hash + Eq> {
    per_sec: f64,
    burst: f64,
    buckets: BoundedMap<K, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: std::hash::Hash + Eq> Buckets<K> {
    /// `None` when `per_sec` is 0 (the limit is off).
    fn new(name: &'static str, per_sec: u32, burst: u32, capacity: usize) -> Option<Self> {
        (per_sec > 0).then(|| Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
            buckets: BoundedMap::new(name, capacity),
        })
    }

    /// Takes one token from `key`'s bucket, or says after how many seconds to retry.
    fn take(&self, key: K, now: Instant) -> Result<(), u64> {
        let (per_sec, burst) = (self.per_sec, self.burst);
        self.buckets.with(
            key,
            || Bucket {
                tokens: burst,
                at: now,
            },
            |bucket| {
                let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * per_sec;
                bucket.tokens = (bucket.tokens + refill).min(burst);
                bucket.at = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    Ok(())
                } else {
                    Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_at_the_configured_rate() {
        let limiter = Buckets::new("t", 2, 3, 100).unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(ip, t0).is_ok());
        }
        assert_eq!(limiter.take(ip, t0), Err(1));
        assert!(limiter.take("10.0.0.2".parse().unwrap(), t0).is_ok());
        assert!(limiter.take(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.take(ip, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn zero_means_off() {
        assert!(Buckets::<i64>::new("t", 0, 5, 10).is_none());
    }

    #[test]
    fn a_million_clients_keep_the_bucket_count_at_its_cap() {
        let limiter = Buckets::new("t", 1, 1, 1_000).unwrap();
        let t0 = Instant::now();
        for user in 0..1_000_000i64 {
            assert!(limiter.take(user, t0).is_ok());
        }
        assert_eq!(limiter.buckets.len(), 1_000);
        // The most recent ones are still limited.
        assert!(limiter.take(999_999, t0).is_err());
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // From an untrusted peer: the peer, whatever the header says.
        assert_eq!(
            client_address(ip("203.0.113.9"), &xff(&["1.2.3.4"]), &trusted),
            ip("203.0.113.9")
        );
        // From the proxy: the right-most untrusted hop (the client's own claims to the
        // left are ignored).
        assert_eq!(
            client_address(
                ip("10.0.0.5"),
                &xff(&["6.6.6.6, 198.51.100.7, 10.1.1.1"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &xff(&["6.6.6.6", "198.51.100.7"]), &trusted),
            ip("198.51.100.7"),
            "several header lines are one list"
        );
        // No header, or garbage: the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.5"), &xff(&[]), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &xff(&["junk, 10.2.2.2"]), &trusted),
            ip("10.2.2.2")
        );
    }
}
