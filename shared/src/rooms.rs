//! The rules of a waiting room's settings, one place for both services: the ranges a
//! change must respect ([`RoomPatch::validate`], checked by the gateway's admin API and
//! again by booking, which stores the settings), how a change applies — the admission rate
//! derived exactly from `rate_per_minute`, the opening's clock ([`RoomSettings::patched`]) —
//! and what a room's settings mean (`enabled`, the rate, when the pre-queue opens). The
//! types themselves are wire types ([`crate::contract::rooms`]).

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};

use crate::contract::rooms::{RoomMode, RoomPatch, RoomSettings};

impl RoomSettings {
    /// Whether new joins are accepted (`mode` is not `closed`).
    pub fn enabled(&self) -> bool {
        self.mode != RoomMode::Closed
    }

    /// `batch_size` per `tick_ms`, in buyers per minute (rounded).
    pub fn rate_per_minute(&self) -> u64 {
        (self.batch_size * 60_000 + self.tick_ms / 2) / self.tick_ms.max(1)
    }

    /// When the pre-queue opens (`opens_at - prequeue_secs`), if an opening is scheduled.
    pub fn prequeue_opens_at(&self) -> Option<DateTime<Utc>> {
        self.opens_at
            .map(|at| at - chrono::Duration::seconds(self.prequeue_secs as i64))
    }

    /// These settings with `patch` applied at time `now` (a valid patch, see
    /// [`RoomPatch::validate`]); `Err` says what cannot be done: a derived value out of
    /// range, or a change of the opening that the clock no longer allows.
    ///
    /// The opening: `opens_at` may be set or moved while it is in the future (a new time
    /// must be in the future too); once it has passed the draw is history and the opening
    /// can no longer be changed; it may be removed only before the pre-queue opens (after
    /// that the pre-queue has buyers in it: move the opening instead).
    ///
    /// `rate_per_minute` sets `batch_size` and `tick_ms` together: with `batch_size` given,
    /// `tick_ms = 60,000 × batch_size / rate`; otherwise the tick (`tick_ms` given, or the
    /// current one) is kept as nearly as possible: `batch_size` is the smallest that reaches
    /// the rate in that tick, and `tick_ms = 60,000 × batch_size / rate` (rounded to the
    /// ms), so the rate is exact.
    pub fn patched(mut self, patch: &RoomPatch, now: DateTime<Utc>) -> Result<Self, String> {
        let RoomPatch {
            capacity,
            batch_size,
            tick_ms,
            rate_per_minute,
            active_ttl_secs,
            mode,
            enabled,
            opens_at,
            prequeue_secs,
            waitlist,
        } = *patch;
        if opens_at.is_some() || prequeue_secs.is_some() {
            self.patch_opening(opens_at, prequeue_secs, now)?;
        }
        self.capacity = capacity.unwrap_or(self.capacity);
        self.waitlist = waitlist.unwrap_or(self.waitlist);
        self.active_ttl_secs = active_ttl_secs.unwrap_or(self.active_ttl_secs);
        if let Some(mode) =
            mode.or(enabled.map(|on| if on { RoomMode::Open } else { RoomMode::Closed }))
        {
            self.mode = mode;
        }
        match rate_per_minute {
            None => {
                self.batch_size = batch_size.unwrap_or(self.batch_size);
                self.tick_ms = tick_ms.unwrap_or(self.tick_ms);
            }
            Some(rate) => {
                let batch = batch_size.unwrap_or_else(|| {
                    let tick = tick_ms.unwrap_or(self.tick_ms);
                    (rate * tick).div_ceil(60_000).max(1)
                });
                let tick = (60_000 * batch + rate / 2) / rate;
                if !RoomPatch::BATCH_SIZE.contains(&batch) || !RoomPatch::TICK_MS.contains(&tick) {
                    return Err(format!(
                        "rate_per_minute {rate} needs batch_size {batch} per tick_ms {tick}, out \
                         of range (batch_size 1-100,000, tick_ms 10-60,000)"
                    ));
                }
                self.batch_size = batch;
                self.tick_ms = tick;
            }
        }
        Ok(self)
    }

    fn patch_opening(
        &mut self,
        opens_at: Option<Option<DateTime<Utc>>>,
        prequeue_secs: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let unchanged = opens_at.is_none_or(|at| at == self.opens_at)
            && prequeue_secs.is_none_or(|secs| secs == self.prequeue_secs);
        if unchanged {
            // Restating the opening as it is (a configuration section applied again) is
            // not a change, whatever the clock says.
            return Ok(());
        }
        if let Some(current) = self.opens_at {
            if current <= now {
                return Err(format!(
                    "the opening at {} has passed and its draw is final: the opening can no \
                     longer be changed",
                    current.to_rfc3339()
                ));
            }
        }
        match opens_at {
            Some(Some(at)) if at <= now => {
                return Err(format!("opens_at {} is not in the future", at.to_rfc3339()))
            }
            Some(None) if self.prequeue_opens_at().is_some_and(|p| p <= now) => {
                return Err("the pre-queue is open and holds buyers: move the opening \
                            (opens_at) instead of removing it"
                    .into());
            }
            _ => {}
        }
        if let Some(at) = opens_at {
            self.opens_at = at;
        }
        self.prequeue_secs = prequeue_secs.unwrap_or(self.prequeue_secs);
        Ok(())
    }
}

impl RoomPatch {
    pub const CAPACITY: RangeInclusive<u64> = 1..=1_000_000;
    pub const BATCH_SIZE: RangeInclusive<u64> = 1..=100_000;
    pub const TICK_MS: RangeInclusive<u64> = 10..=60_000;
    pub const RATE_PER_MINUTE: RangeInclusive<u64> = 1..=6_000_000;
    pub const ACTIVE_TTL_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const PREQUEUE_SECS: RangeInclusive<u64> = 0..=604_800;

    /// Every out-of-range field and contradiction, one message each.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let checks = [
            ("capacity", self.capacity, Self::CAPACITY),
            ("batch_size", self.batch_size, Self::BATCH_SIZE),
            ("tick_ms", self.tick_ms, Self::TICK_MS),
            (
                "rate_per_minute",
                self.rate_per_minute,
                Self::RATE_PER_MINUTE,
            ),
            (
                "active_ttl_secs",
                self.active_ttl_secs,
                Self::ACTIVE_TTL_SECS,
            ),
            ("prequeue_secs", self.prequeue_secs, Self::PREQUEUE_SECS),
        ];
        let mut errors: Vec<String> = checks
            .into_iter()
            .filter_map(|(name, value, range)| {
                value.filter(|v| !range.contains(v)).map(|v| {
                    format!(
                        "{name} must be between {} and {} (got {v})",
                        range.start(),
                        range.end()
                    )
                })
            })
            .collect();
        if self.rate_per_minute.is_some() && self.batch_size.is_some() && self.tick_ms.is_some() {
            errors.push(
                "rate_per_minute sets batch_size and tick_ms: give it with one of them at most"
                    .into(),
            );
        }
        if let (Some(mode), Some(enabled)) = (self.mode, self.enabled) {
            if enabled == (mode == RoomMode::Closed) {
                errors.push(format!(
                    "enabled {enabled} contradicts mode {} (enabled is an alias: false = closed)",
                    mode.as_str()
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::rooms::DEFAULT_PREQUEUE_SECS;

    #[test]
    fn patch_validation_names_every_bad_field() {
        let patch = RoomPatch {
            capacity: Some(0),
            tick_ms: Some(5),
            batch_size: Some(10),
            ..Default::default()
        };
        let errors = patch.validate().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("capacity"));
        assert!(errors[1].starts_with("tick_ms"));
        assert!(RoomPatch::default().validate().is_ok());
    }

    fn settings() -> RoomSettings {
        RoomSettings {
            capacity: 100,
            batch_size: 10,
            tick_ms: 1_000,
            active_ttl_secs: 600,
            mode: RoomMode::Open,
            opens_at: None,
            prequeue_secs: DEFAULT_PREQUEUE_SECS,
            waitlist: true,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn with_rate(rate: u64, batch: Option<u64>, tick: Option<u64>) -> RoomSettings {
        let patch = RoomPatch {
            rate_per_minute: Some(rate),
            batch_size: batch,
            tick_ms: tick,
            ..Default::default()
        };
        settings().patched(&patch, now()).unwrap()
    }

    #[test]
    fn a_rate_per_minute_sets_batch_and_tick_exactly() {
        // The current tick kept when the rate fits it.
        let s = with_rate(6_000, None, None);
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (100, 1_000, 6_000)
        );
        // 100/min in ticks of about 1 s: 2 per 1.2 s.
        let s = with_rate(100, None, None);
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (2, 1_200, 100)
        );
        // With the tick given.
        let s = with_rate(600, None, Some(250));
        assert_eq!(
            (s.batch_size, s.tick_ms, s.rate_per_minute()),
            (3, 300, 600)
        );
        // With the batch given: the tick follows.
        let s = with_rate(120, Some(1), None);
        assert_eq!((s.batch_size, s.tick_ms), (1, 500));
        // A rate the ranges cannot reach.
        let patch = RoomPatch {
            rate_per_minute: Some(1),
            batch_size: Some(5),
            ..Default::default()
        };
        assert!(settings().patched(&patch, now()).is_err());
        let over = RoomPatch {
            rate_per_minute: Some(10),
            batch_size: Some(1),
            tick_ms: Some(100),
            ..Default::default()
        };
        assert!(over.validate().is_err(), "over-determined");
    }

    #[test]
    fn modes_and_the_enabled_alias() {
        let closed = RoomPatch {
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            settings().patched(&closed, now()).unwrap().mode,
            RoomMode::Closed
        );
        let paused = RoomPatch {
            mode: Some(RoomMode::QueueAll),
            ..Default::default()
        };
        let s = settings().patched(&paused, now()).unwrap();
        assert!(s.enabled() && s.mode == RoomMode::QueueAll);
        let contradiction = RoomPatch {
            mode: Some(RoomMode::Closed),
            enabled: Some(true),
            ..Default::default()
        };
        assert!(contradiction.validate().is_err());
        // Settings stored before modes existed.
        let old: RoomSettings = serde_json::from_str(
            r#"{"capacity":1,"batch_size":1,"tick_ms":100,"active_ttl_secs":60,"enabled":false}"#,
        )
        .unwrap();
        assert_eq!(old.mode, RoomMode::Closed);
        let round: RoomSettings =
            serde_json::from_str(&serde_json::to_string(&settings()).unwrap()).unwrap();
        assert_eq!(round, settings());
    }

    fn opening(opens_at: Option<Option<&str>>, prequeue_secs: Option<u64>) -> RoomPatch {
        RoomPatch {
            opens_at: opens_at.map(|at| at.map(|a| a.parse().unwrap())),
            prequeue_secs,
            ..Default::default()
        }
    }

    #[test]
    fn an_opening_is_scheduled_moved_and_removed_only_while_the_clock_allows() {
        let at = "2026-12-01T13:00:00Z";
        let s = settings()
            .patched(&opening(Some(Some(at)), Some(600)), now())
            .unwrap();
        assert_eq!(s.opens_at, Some(at.parse().unwrap()));
        assert_eq!(
            s.prequeue_opens_at(),
            Some("2026-12-01T12:50:00Z".parse().unwrap())
        );
        // Not in the future.
        let past = opening(Some(Some("2026-12-01T11:59:59Z")), None);
        assert!(settings().patched(&past, now()).is_err());
        // Removed before the pre-queue opens; not after.
        assert_eq!(
            s.patched(&opening(Some(None), None), now())
                .unwrap()
                .opens_at,
            None
        );
        let later: DateTime<Utc> = "2026-12-01T12:55:00Z".parse().unwrap();
        assert!(s.patched(&opening(Some(None), None), later).is_err());
        // Moved while in the future, even inside the pre-queue window.
        let moved = s
            .patched(&opening(Some(Some("2026-12-01T14:00:00Z")), None), later)
            .unwrap();
        assert_eq!(moved.prequeue_secs, 600);
        // Final once passed; other settings still change.
        let after: DateTime<Utc> = "2026-12-01T13:00:01Z".parse().unwrap();
        assert!(s.patched(&opening(None, Some(60)), after).is_err());
        let capacity = RoomPatch {
            capacity: Some(5),
            ..Default::default()
        };
        assert_eq!(s.patched(&capacity, after).unwrap().capacity, 5);
        // null, absent and a value are three different patches.
        let patch: RoomPatch = serde_json::from_str(r#"{"opens_at": null}"#).unwrap();
        assert_eq!(patch.opens_at, Some(None));
        let patch: RoomPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(patch.opens_at, None);
        // Stored settings from before openings existed.
        let old: RoomSettings = serde_json::from_str(
            r#"{"capacity":1,"batch_size":1,"tick_ms":100,"active_ttl_secs":60,"mode":"open"}"#,
        )
        .unwrap();
        assert_eq!((old.opens_at, old.prequeue_secs), (None, 900));
    }
}
