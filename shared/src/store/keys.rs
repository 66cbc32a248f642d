//! Redis key naming, from one table ([`LAYOUT`]) that the accessors below and the README's
//! key table both follow (a test holds the README to it). Every key of one concert carries
//! the `{<concert_id>}` hash tag, so a concert's keys share one Redis Cluster slot and
//! every script touches one slot only. The prefix (default `tq:`) separates deployments
//! and tests.

/// One kind of key: its pattern (`<p>` = prefix, `{c}` = concert id), type and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub pattern: &'static str,
    pub kind: &'static str,
    pub holds: &'static str,
}

/// The layout: one line per key kind — the accessor of a concert key, its constant, its
/// pattern, type and content. Generates the constants, [`LAYOUT`] (in this order) and the
/// `Keys` accessors of the concert keys.
macro_rules! layout {
    (
        concert: [$($name:ident => $spec:ident: $pattern:literal, $kind:literal, $holds:literal;)*]
        other: [$($ospec:ident: $opattern:literal, $okind:literal, $oholds:literal;)*]
    ) => {
        $(pub const $spec: KeySpec = KeySpec { pattern: $pattern, kind: $kind, holds: $holds };)*
        $(pub const $ospec: KeySpec = KeySpec { pattern: $opattern, kind: $okind, holds: $oholds };)*

        /// Every key the system writes, in the README's order.
        pub const LAYOUT: &[KeySpec] = &[$($spec,)* $($ospec,)*];

        impl Keys {
            $(
                #[doc = concat!("`", $pattern, "`: ", $holds, ".")]
                pub fn $name(&self, concert_id: i64) -> String {
                    self.queue($spec, concert_id)
                }
            )*
        }
    };
}

layout! {
    concert: [
        waiting => WAITING: "<p>q:{c}:w", "zset", "waiting line: member user id, score ticket number";
        active => ACTIVE: "<p>q:{c}:a", "zset", "admitted buyers: member user id, score admission expiry (ms)";
        active_seq => ACTIVE_SEQ: "<p>q:{c}:as", "hash", "admitted user id → ticket number";
        seq => SEQ: "<p>q:{c}:seq", "string", "last ticket number handed out";
        room => ROOM: "<p>q:{c}:room", "hash", "room settings (mode, capacity, batch_size, tick_ms, active_ttl_secs, enabled, opens_at_ms, prequeue_secs, waitlist) and their version, the opening's seed and seed_sha256, the room's epoch, tick bookkeeping (last_tick_ms, last_tick_by, admitted_1m), the draw's progress (pre_n, pre_base, draw_state, draw_written, draw_owner, draw_lease_ms, drawn_ms), the last sell-out (sold_out_ms, sold_out_seq; waitlisted_ms when the line was kept)";
        admission_log => ADMISSION_LOG: "<p>q:{c}:log", "zset", "admissions per tick over the last minute (measured rate)";
        join_times => JOIN_TIMES: "<p>q:{c}:jt", "zset", "ticket number → time checkpoints, at most one a second (oldest wait)";
        left => LEFT: "<p>q:{c}:left", "zset", "tickets that left the line in the last minute: member ticket number, score time (ms)";
        ended => ENDED: "<p>q:{c}:ended", "zset", "admissions ended early (paid, given up) within the last active_ttl_secs: member ticket number, score time (ms)";
        inventory => INVENTORY: "<p>q:{c}:inv", "hash", "the concert's seats as booking last published them (about once a second): total, held, sold";
        prequeue => PREQUEUE: "<p>q:{c}:pre", "zset", "the pre-queue before the opening's draw: member user id, score join time (ms)";
        drawn => DRAWN: "<p>q:{c}:drawn", "list", "the opening's draw: user ids in drawn order (published as entry ids)";
        eta => ETA: "<p>q:{c}:eta", "list", "the last 10,000 admissions' estimate errors: \"<estimate ms>:<actual wait ms>\"";
    ]
    other: [
        HOLD: "<p>hold:{c}:<schedule>:<seat>", "string", "`<reservation id>:<user id>` of the hold, `PX` = hold TTL; after the payment `sold`, `PX` = `holds.sold_marker_hours`";
        ROOMS: "<p>rooms", "set", "concert ids that have a room (ticker discovery)";
    ]
}

/// Builds every key from one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// `prefix` must not contain braces (settings validation refuses them).
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        assert!(
            !prefix.contains(['{', '}']),
            "redis.key_prefix must not contain braces (it would change the hash tag)"
        );
        Self { prefix }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A concert key of `spec` (a `<p>q:{c}:<suffix>` pattern).
    fn queue(&self, spec: KeySpec, concert_id: i64) -> String {
        let suffix = spec.pattern.rsplit(':').next().unwrap_or_default();
        format!("{}q:{{{concert_id}}}:{suffix}", self.prefix)
    }

    pub fn hold(&self, concert_id: i64, schedule_id: i64, seat_no: i32) -> String {
        format!(
            "{}hold:{{{concert_id}}}:{schedule_id}:{seat_no}",
            self.prefix
        )
    }

    pub fn rooms(&self) -> String {
        format!("{}rooms", self.prefix)
    }

    /// The keys the join, promote and stats scripts take, in their `KEYS` order.
    pub fn line(&self, concert_id: i64) -> [String; 10] {
        [
            self.waiting(concert_id),
            self.active(concert_id),
            self.active_seq(concert_id),
            self.seq(concert_id),
            self.room(concert_id),
            self.admission_log(concert_id),
            self.join_times(concert_id),
            self.inventory(concert_id),
            self.prequeue(concert_id),
            self.ended(concert_id),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str) -> &str {
        let start = key.find('{').unwrap() + 1;
        let end = key[start..].find('}').unwrap() + start;
        &key[start..end]
    }

    #[test]
    fn every_concert_key_shares_the_concert_hash_tag() {
        let keys = Keys::new("t:");
        for key in keys.line(42).iter().chain([&keys.left(42)]) {
            assert_eq!(tag(key), "42", "{key}");
            assert!(key.starts_with("t:"));
        }
        assert_eq!(tag(&keys.hold(42, 7, 3)), "42");
        assert_eq!(keys.hold(42, 7, 3), "t:hold:{42}:7:3");
    }

    #[test]
    fn accessors_follow_the_layout_table() {
        let keys = Keys::new("<p>");
        let built = [
            keys.waiting(0),
            keys.active(0),
            keys.active_seq(0),
            keys.seq(0),
            keys.room(0),
            keys.admission_log(0),
            keys.join_times(0),
            keys.left(0),
        ];
        for (key, spec) in built.iter().zip(LAYOUT) {
            assert_eq!(key.replace("{0}", "{c}"), spec.pattern);
        }
        assert_eq!(
            keys.hold(0, 1, 2)
                .replace("{0}:1:2", "{c}:<schedule>:<seat>"),
            HOLD.pattern
        );
        assert_eq!(keys.rooms(), ROOMS.pattern);
    }

    #[test]
    #[should_panic]
    fn braces_in_prefix_are_refused() {
        Keys::new("a{b}");
    }
}
