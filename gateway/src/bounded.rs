//! Maps keyed by what clients send (addresses, user ids, concert ids), bounded whatever is
//! sent: at most `capacity` entries, the least recently used one evicted first, each
//! operation O(1). Every map reports its size and its evictions:
//! `bounded_entries{map}` and `bounded_evictions_total{map}`.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

pub struct BoundedMap<K: Hash + Eq, V> {
    name: &'static str,
    entries: Mutex<LruCache<K, V>>,
}

impl<K: Hash + Eq, V> std::fmt::Debug for BoundedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedMap")
            .field("name", &self.name)
            .field("len", &self.len())
            .finish()
    }
}

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    /// `name` labels the map's metrics; `capacity` 0 is taken as 1.
    pub fn new(name: &'static str, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            name,
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<K, V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.lock().cap().get()
    }

    /// Runs `f` on the entry of `key`, created with `init` when absent (evicting the least
    /// recently used entry when the map is full). The entry becomes the most recent.
    pub fn with<T>(&self, key: K, init: impl FnOnce() -> V, f: impl FnOnce(&mut V) -> T) -> T {
        let mut entries = self.lock();
        let evicts = !entries.contains(&key) && entries.len() == entries.cap().get();
        let value = entries.get_or_insert_mut(key, init);
        let out = f(value);
        if evicts {
            metrics::counter!("bounded_evictions_total", "map" => self.name).increment(1);
        }
        metrics::gauge!("bounded_entries", "map" => self.name).set(entries.len() as f64);
        out
    }

    /// A copy of the value of `key`, if present (and marks it recently used).
    pub fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        self.lock().get(key).cloned()
    }

    /// Sets `key` to `value` (evicting as [`BoundedMap::with`] does).
    pub fn insert(&self, key: K, value: V) {
        self.with(key, || value, |_| ());
    }

    pub fn remove(&self, key: &K) -> Option<V> {
        let mut entries = self.lock();
        let removed = entries.pop(key);
        metrics::gauge!("bounded_entries", "map" => self.name).set(entries.len() as f64);
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_capacity_and_evicts_the_least_recent() {
        let map = BoundedMap::new("test", 3);
        for k in 0..1_000 {
            map.insert(k, k * 2);
            assert!(map.len() <= 3);
        }
        assert_eq!(map.get(&999), Some(1_998));
        assert_eq!(map.get(&996), None);
        // Touching 997 makes 998 the least recent.
        assert_eq!(map.get(&997), Some(1_994));
        map.insert(5, 10);
        assert_eq!(map.get(&998), None);
        assert_eq!(map.get(&997), Some(1_994));
        assert_eq!(map.capacity(), 3);
    }

    #[test]
    fn with_creates_then_updates_in_place() {
        let map: BoundedMap<&str, u32> = BoundedMap::new("test", 2);
        for _ in 0..5 {
            map.with("a", || 0, |v| *v += 1);
        }
        assert_eq!(map.get(&"a"), Some(5));
        assert_eq!(map.remove(&"a"), Some(5));
        assert!(map.is_empty());
    }
}
