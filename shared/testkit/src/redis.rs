//! Redis in tests: a key prefix of one's own, removed afterwards, and invariants read
//! straight from the store.

use shared::store::Keys;

use crate::redis_url;

/// A fresh key prefix (`t-<uuid>:`), so tests run in parallel on one Redis.
pub fn unique_prefix() -> String {
    format!("t-{}:", uuid::Uuid::new_v4().simple())
}

/// A connection of the test's own.
pub async fn conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("the tests need Redis (REDIS_URL or 127.0.0.1:6379)")
}

/// The seed nodes of the test cluster (`REDIS_CLUSTER_URLS`, which `scripts/test` sets
/// after `scripts/cluster up`), if there is one.
pub fn cluster_urls() -> Option<String> {
    std::env::var("REDIS_CLUSTER_URLS")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Deletes every key under `prefix` (SCAN is fine in tests, never on request paths). Runs
/// on a plain thread, so it works from async code and from `Drop` alike.
pub fn delete_prefix(prefix: &str) {
    delete_prefix_on(&redis_url(), prefix);
}

/// [`delete_prefix`] on every node of a cluster (`urls`: comma-separated): each master
/// holds its own slots' keys, deleted one by one (they are in different slots).
pub fn delete_prefix_in_cluster(urls: &str, prefix: &str) {
    for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        delete_prefix_on(url, prefix);
    }
}

fn delete_prefix_on(url: &str, prefix: &str) {
    let (url, prefix) = (url.to_owned(), prefix.to_owned());
    std::thread::spawn(move || {
        let Ok(client) = redis::Client::open(url) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut conn)
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default();
        for chunk in keys.chunks(500) {
            if redis::cmd("DEL").arg(chunk).exec(&mut conn).is_err() {
                // A cluster node: keys of several slots in one DEL are refused (CROSSSLOT),
                // and a replica refuses writes; one by one, errors ignored.
                for key in chunk {
                    let _ = redis::cmd("DEL").arg(key).exec(&mut conn);
                }
            }
        }
    })
    .join()
    .unwrap();
}

/// The FIFO invariant, read atomically from Redis: every admitted ticket number is below
/// every waiting one. Returns `(max admitted seq, min waiting seq)`.
pub async fn fifo_snapshot(
    redis: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    concert_id: i64,
) -> (Option<i64>, Option<i64>) {
    redis::Script::new(
        "local m = nil
         for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
           local n = tonumber(v)
           if m == nil or n > m then m = n end
         end
         local w = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
         return {m or false, w[2] and tonumber(w[2]) or false}",
    )
    .key(keys.active_seq(concert_id))
    .key(keys.waiting(concert_id))
    .invoke_async(redis)
    .await
    .unwrap()
}
