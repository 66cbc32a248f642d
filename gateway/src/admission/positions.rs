//! The departures a room's snapshot carries: tickets that recently left the line
//! ([`LeftTickets`]) and admissions that ended before their expiry ([`EndedTickets`]), as
//! read from the room's `left` and `ended` sets every tick (and as this instance's own
//! leaves and forwarded payments showed them: [`crate::rooms::Observed`]). The place of a
//! ticket is decided from them by [`super::place::decide`] alone.
//!
//! Both lists are bounded (`limits.left_per_room`). A room with more left tickets ahead of
//! its head than that (one account's join/leave loop, say) stops answering from memory —
//! every poll goes to Redis — until the head has passed them (`queue_left_overflows_total`
//! counts the times); a room whose ended list overflowed answers its admitted polls from
//! Redis until the overflow has aged past `active_ttl_secs`.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Instant;

use super::place::MAX_AGE;

#[derive(Debug)]
struct Left {
    /// Left ticket numbers not yet passed by the head.
    seqs: BTreeSet<i64>,
    /// Set when more tickets left than the list may hold: until the head passes this
    /// ticket number, no poll of the room is answered from memory.
    overflow_until: Option<i64>,
    /// Latest leave time read from Redis (ms); the next read starts there.
    since_ms: i64,
    /// When the list was last read from Redis.
    synced: Option<Instant>,
}

/// Per room, the tickets that recently left the line.
#[derive(Debug)]
pub struct LeftTickets {
    rooms: RwLock<HashMap<i64, Left>>,
    /// Most left tickets kept per room.
    cap: usize,
}

impl Left {
    fn insert(&mut self, seq: i64, cap: usize) {
        if let Some(until) = &mut self.overflow_until {
            *until = (*until).max(seq);
            return;
        }
        self.seqs.insert(seq);
        if self.seqs.len() > cap {
            self.overflow_until = self.seqs.last().copied();
            self.seqs.clear();
            metrics::counter!("queue_left_overflows_total").increment(1);
        }
    }
}

impl LeftTickets {
    pub fn new(cap: usize) -> Self {
        Self {
            rooms: RwLock::default(),
            cap: cap.max(1),
        }
    }

    fn with_room<T>(&self, concert_id: i64, f: impl FnOnce(&mut Left, usize) -> T) -> T {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let left = rooms.entry(concert_id).or_insert_with(|| Left {
            seqs: BTreeSet::new(),
            overflow_until: None,
            since_ms: 0,
            synced: None,
        });
        f(left, self.cap)
    }

    /// A leave through this instance: known at once.
    pub fn mark(&self, concert_id: i64, seq: i64) {
        self.with_room(concert_id, |l, cap| l.insert(seq, cap));
    }

    /// Where the next read of the room's left list starts (Redis clock, ms).
    pub fn since_ms(&self, concert_id: i64) -> i64 {
        self.with_room(concert_id, |l, _| l.since_ms)
    }

    /// Merges a read of the room's left list; drops what the head has passed.
    pub fn merge(&self, concert_id: i64, read: &[(i64, i64)], head_seq: i64) {
        self.with_room(concert_id, |l, cap| {
            for &(seq, at_ms) in read {
                l.insert(seq, cap);
                l.since_ms = l.since_ms.max(at_ms);
            }
            l.seqs = l.seqs.split_off(&head_seq);
            if l.overflow_until.is_some_and(|until| until < head_seq) {
                l.overflow_until = None;
            }
            l.synced = Some(Instant::now());
        });
    }

    /// Whether ticket `seq` is known not to have left, with a list read recently.
    pub fn known_present(&self, concert_id: i64, seq: i64) -> bool {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(&concert_id).is_some_and(|l| {
            l.synced.is_some_and(|at| at.elapsed() <= MAX_AGE)
                && l.overflow_until.is_none()
                && !l.seqs.contains(&seq)
        })
    }

    /// Whether ticket `seq` is known to have left the line.
    pub fn known_left(&self, concert_id: i64, seq: i64) -> bool {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms
            .get(&concert_id)
            .is_some_and(|l| l.seqs.contains(&seq))
    }

    /// How many tickets in `from..to` left the line, with a list read recently and not
    /// overflowed; `None` when memory cannot tell.
    pub fn left_between(&self, concert_id: i64, from: i64, to: i64) -> Option<u64> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        let l = rooms.get(&concert_id)?;
        let fresh = l.synced.is_some_and(|at| at.elapsed() <= MAX_AGE);
        (fresh && l.overflow_until.is_none() && from <= to)
            .then(|| l.seqs.range(from..to).count() as u64)
    }

    pub fn forget(&self, concert_id: i64) {
        self.rooms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
    }
}

/// The time of an end seen before the room's clock was known (see [`EndedTickets::mark`]).
const UNTIMED: i64 = i64::MAX;

/// Per room, admissions that ended before their expiry (paid, given up), as read from the
/// room's `ended` set (see the module docs).
#[derive(Debug)]
pub struct EndedTickets {
    rooms: RwLock<HashMap<i64, Ended>>,
    cap: usize,
}

#[derive(Debug, Default)]
struct Ended {
    /// Ticket number -> when its admission ended (Redis clock, ms).
    seqs: HashMap<i64, i64>,
    /// Latest end time read (ms); the next read starts there.
    since_ms: i64,
    /// Until when (Redis clock, ms) an overflow keeps this room's admitted polls in Redis.
    overflow_until_ms: Option<i64>,
    /// The Redis clock at the last read, and when (here) it happened.
    synced: Option<(i64, Instant)>,
}

impl EndedTickets {
    pub fn new(cap: usize) -> Self {
        Self {
            rooms: RwLock::default(),
            cap: cap.max(1),
        }
    }

    /// Where the next read of the room's ended set starts (Redis clock, ms).
    pub fn since_ms(&self, concert_id: i64) -> i64 {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(&concert_id).map_or(0, |e| e.since_ms)
    }

    /// Merges a read taken at `now_ms` (Redis clock); forgets ends older than `ttl_ms` (those
    /// admissions have expired anyway).
    pub fn merge(&self, concert_id: i64, read: &[(i64, i64)], now_ms: i64, ttl_ms: i64) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let e = rooms.entry(concert_id).or_default();
        for &(seq, at_ms) in read {
            e.seqs.insert(seq, at_ms);
            e.since_ms = e.since_ms.max(at_ms);
        }
        // Ends this instance saw before it first knew the room's clock take this read's
        // time: a read taken just before such an end reached Redis must not prune it.
        for at in e.seqs.values_mut().filter(|at| **at == UNTIMED) {
            *at = now_ms;
        }
        e.seqs.retain(|_, at| *at > now_ms - ttl_ms);
        if e.seqs.len() > self.cap {
            e.seqs.clear();
            e.overflow_until_ms = Some(now_ms + ttl_ms);
            metrics::counter!("queue_ended_overflows_total").increment(1);
        }
        if e.overflow_until_ms.is_some_and(|until| until <= now_ms) {
            e.overflow_until_ms = None;
        }
        e.synced = Some((now_ms, Instant::now()));
    }

    /// Whether the admission of ticket `seq` is known not to have ended early, with a list
    /// read recently; `false` when Redis must answer.
    pub fn known_live(&self, concert_id: i64, seq: i64) -> bool {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(&concert_id).is_some_and(|e| {
            e.synced.is_some_and(|(_, at)| at.elapsed() <= MAX_AGE)
                && e.overflow_until_ms.is_none()
                && !e.seqs.contains_key(&seq)
        })
    }

    /// An admission this instance saw end (a payment it forwarded, a leave it served):
    /// known at once, before the next read.
    pub fn mark(&self, concert_id: i64, seq: i64) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let e = rooms.entry(concert_id).or_default();
        let at = e.synced.map_or(UNTIMED, |(now_ms, at)| {
            now_ms + at.elapsed().as_millis() as i64
        });
        e.seqs.insert(seq, at);
    }

    /// Whether the admission of ticket `seq` is known to have ended early.
    pub fn known_ended(&self, concert_id: i64, seq: i64) -> bool {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms
            .get(&concert_id)
            .is_some_and(|e| e.seqs.contains_key(&seq))
    }

    /// The Redis clock as of the last read, advanced by the time since (ms).
    pub fn redis_now_ms(&self, concert_id: i64) -> Option<i64> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        let (now_ms, at) = rooms.get(&concert_id)?.synced?;
        Some(now_ms + at.elapsed().as_millis() as i64)
    }

    pub fn forget(&self, concert_id: i64) {
        self.rooms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&concert_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_tickets_are_never_answered_from_memory() {
        let left = LeftTickets::new(100);
        assert!(!left.known_present(1, 50), "never read from Redis");
        left.merge(1, &[(40, 5), (60, 7)], 50);
        assert!(left.known_present(1, 50));
        assert!(!left.known_present(1, 60));
        assert_eq!(left.since_ms(1), 7);
        left.mark(1, 70);
        assert!(!left.known_present(1, 70));
        left.merge(1, &[], 65);
        assert!(left.known_present(1, 60), "passed by the head: pruned");
        assert!(!left.known_present(1, 70));
    }

    #[test]
    fn a_join_leave_loop_overflows_to_redis_until_the_head_passes() {
        let left = LeftTickets::new(3);
        left.merge(1, &[], 10);
        for seq in 100..110 {
            left.mark(1, seq);
        }
        assert!(!left.known_present(1, 50), "overflowed: Redis answers");
        assert!(
            left.rooms.read().unwrap()[&1].seqs.is_empty(),
            "nothing kept past the cap"
        );
        left.merge(1, &[], 109);
        assert!(
            !left.known_present(1, 200),
            "the head has not passed 109 yet"
        );
        left.merge(1, &[], 110);
        assert!(left.known_present(1, 200), "passed: memory answers again");
    }

    #[test]
    fn an_end_seen_here_before_the_first_read_survives_that_read() {
        let ended = EndedTickets::new(10);
        // A leave served before this instance read the room's clock...
        ended.mark(1, 7);
        // ...and a read taken just before the leave reached Redis.
        ended.merge(1, &[], 1_000_000, 60_000);
        assert!(ended.known_ended(1, 7), "the end must not be pruned");
        assert!(!ended.known_live(1, 7));
        // It ages like any other end.
        ended.merge(1, &[], 1_060_001, 60_000);
        assert!(!ended.known_ended(1, 7));
    }

    #[test]
    fn ended_admissions_are_never_answered_active_from_memory() {
        let ended = EndedTickets::new(3);
        assert!(!ended.known_live(1, 5), "never read from Redis");
        ended.merge(1, &[(5, 1_000)], 2_000, 60_000);
        assert!(!ended.known_live(1, 5));
        assert!(ended.known_live(1, 6));
        assert_eq!(ended.since_ms(1), 1_000);
        // Aged past the admission time: forgotten (the admission has expired anyway).
        ended.merge(1, &[], 62_000, 60_000);
        assert!(ended.known_live(1, 5));
        // An overflow sends the room's admitted polls to Redis until it ages out.
        ended.merge(
            1,
            &[(10, 62_000), (11, 62_000), (12, 62_000), (13, 62_000)],
            62_000,
            60_000,
        );
        assert!(!ended.known_live(1, 99));
        ended.merge(1, &[], 122_001, 60_000);
        assert!(ended.known_live(1, 99));
    }
}
