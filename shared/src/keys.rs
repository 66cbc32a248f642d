//! Redis key naming. Every key that belongs to one concert carries the `{<concert_id>}`
//! hash tag, so a concert's keys share one Redis Cluster slot and every Lua script touches
//! one slot only. The prefix (default `tq:`) separates deployments and tests.
//!
//! | key                              | type   | holds                                       |
//! |----------------------------------|--------|---------------------------------------------|
//! | `<p>q:{c}:w`                     | zset   | waiting line: member user id, score ticket  |
//! | `<p>q:{c}:a`                     | zset   | admitted: member user id, score expiry (ms) |
//! | `<p>q:{c}:as`                    | hash   | admitted user id → ticket number            |
//! | `<p>q:{c}:seq`                   | string | last ticket number handed out               |
//! | `<p>q:{c}:room`                  | hash   | room settings and tick bookkeeping          |
//! | `<p>q:{c}:log`                   | zset   | admissions per tick over the last minute    |
//! | `<p>q:{c}:jt`                    | zset   | ticket-number → time checkpoints (wait age) |
//! | `<p>hold:{c}:<schedule>:<seat>`  | string | reservation id holding the seat (PX ttl)    |
//! | `<p>rooms`                       | set    | concert ids with a room (ticker discovery)  |

/// Builds every key from one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        assert!(
            !prefix.contains('{') && !prefix.contains('}'),
            "redis.key_prefix must not contain braces (it would change the hash tag)"
        );
        Self { prefix }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn queue(&self, concert_id: i64, suffix: &str) -> String {
        format!("{}q:{{{concert_id}}}:{suffix}", self.prefix)
    }

    pub fn waiting(&self, concert_id: i64) -> String {
        self.queue(concert_id, "w")
    }

    pub fn active(&self, concert_id: i64) -> String {
        self.queue(concert_id, "a")
    }

    pub fn active_seq(&self, concert_id: i64) -> String {
        self.queue(concert_id, "as")
    }

    pub fn seq(&self, concert_id: i64) -> String {
        self.queue(concert_id, "seq")
    }

    pub fn room(&self, concert_id: i64) -> String {
        self.queue(concert_id, "room")
    }

    pub fn admission_log(&self, concert_id: i64) -> String {
        self.queue(concert_id, "log")
    }

    pub fn join_times(&self, concert_id: i64) -> String {
        self.queue(concert_id, "jt")
    }

    /// Recently left waiting tickets (zset: ticket number -> time left, ms), read by the
    /// gateways so polls answered without Redis never show a left ticket as waiting.
    pub fn left(&self, concert_id: i64) -> String {
        self.queue(concert_id, "left")
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

    /// The queue keys of one concert in the order the queue scripts take them.
    pub fn queue_keys(&self, concert_id: i64) -> [String; 7] {
        [
            self.waiting(concert_id),
            self.active(concert_id),
            self.active_seq(concert_id),
            self.seq(concert_id),
            self.room(concert_id),
            self.admission_log(concert_id),
            self.join_times(concert_id),
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
        for key in keys.queue_keys(42) {
            assert_eq!(tag(&key), "42", "{key}");
            assert!(key.starts_with("t:"));
        }
        assert_eq!(tag(&keys.hold(42, 7, 3)), "42");
        assert_eq!(keys.hold(42, 7, 3), "t:hold:{42}:7:3");
    }

    #[test]
    #[should_panic]
    fn braces_in_prefix_are_refused() {
        Keys::new("a{b}");
    }
}
