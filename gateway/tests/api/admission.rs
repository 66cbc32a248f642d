//! Admission: FIFO order, rate independent of the instance count, the capacity bound, and
//! slots freed by leaving and by expiry.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use testkit::prelude::*;

#[tokio::test]
async fn fifo_with_1000_buyers_through_3_instances() {
    let app = Stack::gateways_with(3, |s| set_queue(s, 1, 100, 50)).await;
    let app = Arc::new(app);
    // 1,000 buyers join at once, spread over the three instances.
    let joins = (1..=1000i64).map(|user| {
        let app = app.clone();
        tokio::spawn(async move { app.join(user as usize, 1, user).await })
    });
    let tickets: Vec<Ticket> = join_all(joins)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert!(tickets.iter().all(|t| t.status == StatusCode::CREATED));
    assert_eq!(tickets.iter().filter(|t| t.state() == "active").count(), 1);

    // Ticket numbers are unique and positions at join grow strictly with them.
    let mut by_seq: Vec<(i64, &Ticket)> = tickets.iter().map(|t| (t.claims(&app).seq, t)).collect();
    by_seq.sort_by_key(|(seq, _)| *seq);
    by_seq.dedup_by_key(|(seq, _)| *seq);
    assert_eq!(by_seq.len(), 1000);
    let waiting: Vec<&(i64, &Ticket)> = by_seq
        .iter()
        .filter(|(_, t)| t.state() == "waiting")
        .collect();
    assert!(waiting
        .windows(2)
        .all(|w| w[0].1.position() < w[1].1.position()));

    // Status through all instances: positions 1..=999 in ticket order.
    let statuses = waiting.iter().enumerate().map(|(i, (seq, t))| {
        let app = app.clone();
        let token = t.token.clone();
        let seq = *seq;
        tokio::spawn(async move { (seq, app.status(i, &token).await) })
    });
    let mut positions: Vec<(i64, u64)> = join_all(statuses)
        .await
        .into_iter()
        .map(|r| {
            let (seq, (status, body)) = r.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            (seq, body["position"].as_u64().unwrap())
        })
        .collect();
    positions.sort();
    let expected: Vec<u64> = (1..=999).collect();
    assert_eq!(positions.iter().map(|p| p.1).collect::<Vec<_>>(), expected);

    // Open the room: 100 per 50 ms tick until the line is empty.
    app.configure(1, json!({"capacity": 5000})).await;
    poll_until(Duration::from_secs(20), "the line to empty", || async {
        (app.waiting_len(1).await == 0).then_some(())
    })
    .await;

    // Admission order = ticket order: expiry (admission time + ttl) never decreases with
    // the ticket number.
    let mut redis = app.redis.clone();
    let expiries: HashMap<String, i64> = redis::cmd("ZRANGE")
        .arg(app.keys.active(1))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async::<Vec<(String, i64)>>(&mut redis)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let seqs: HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(app.keys.active_seq(1))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(expiries.len(), 1000);
    let mut admitted: Vec<(i64, i64)> = seqs
        .iter()
        .map(|(user, seq)| (*seq, expiries[user]))
        .collect();
    admitted.sort();
    let inversions = admitted.windows(2).filter(|w| w[0].1 > w[1].1).count();
    assert_eq!(inversions, 0);
    let ticks: std::collections::HashSet<i64> = admitted.iter().map(|a| a.1).collect();
    assert!(ticks.len() >= 10, "admitted over {} ticks", ticks.len());
    let app = Arc::into_inner(app).unwrap();
    app.stop().await;
}

/// Admissions per tick slot read from the room's log (`"<slot>:<n>"` members).
async fn admissions_by_slot(app: &Stack, concert_id: i64) -> BTreeMap<i64, Vec<u64>> {
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(app.keys.admission_log(concert_id))
        .arg(0)
        .arg(-1)
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    let mut slots: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    for m in members.iter().filter(|m| !m.starts_with('j')) {
        let (slot, n) = m.split_once(':').unwrap();
        slots
            .entry(slot.parse().unwrap())
            .or_default()
            .push(n.parse().unwrap());
    }
    slots
}

/// Admitted over `window` consecutive tick slots once admissions flow.
async fn admitted_over_window(instances: usize, batch: u64, window: i64) -> u64 {
    let app = Stack::gateways_with(instances, |s| {
        set_queue(s, 1, batch, 100);
        s.queue.active_ttl_secs = 600;
    })
    .await;
    let joins = (1..=400i64).map(|user| app.post_token(user as usize, 1, user, None));
    assert!(join_all(joins)
        .await
        .iter()
        .all(|r| r.status().is_success()));
    app.configure(1, json!({"capacity": 100_000})).await;

    let slots = poll_until(Duration::from_secs(15), "enough ticks", || async {
        let slots = admissions_by_slot(&app, 1).await;
        let first = *slots.keys().next()?;
        (slots.keys().last()? - first > window + 1).then_some(slots)
    })
    .await;
    // One tick per slot at most, never more than a batch.
    for (slot, runs) in &slots {
        assert_eq!(runs.len(), 1, "slot {slot} ran {} times", runs.len());
        assert!(runs[0] <= batch);
    }
    let first = *slots.keys().next().unwrap() + 1;
    let admitted: u64 = slots
        .range(first..first + window)
        .map(|(_, runs)| runs[0])
        .sum();
    app.stop().await;
    admitted
}

#[tokio::test]
async fn admitted_rate_is_the_same_with_1_and_3_instances() {
    const BATCH: u64 = 5;
    const WINDOW: i64 = 20;
    let (one, three) = tokio::join!(
        admitted_over_window(1, BATCH, WINDOW),
        admitted_over_window(3, BATCH, WINDOW)
    );
    let expected = BATCH * WINDOW as u64;
    for admitted in [one, three] {
        assert!(
            admitted <= expected && admitted + BATCH >= expected,
            "admitted {admitted}, expected {expected} (1 instance: {one}, 3 instances: {three})"
        );
    }
    assert!(
        one.abs_diff(three) <= BATCH,
        "1 instance: {one}, 3 instances: {three}"
    );
}

#[tokio::test]
async fn capacity_is_never_exceeded_under_joins_leaves_and_expiries() {
    const CAPACITY: u64 = 8;
    let app = Arc::new(
        Stack::gateways_with(3, |s| {
            set_queue(s, CAPACITY, 4, 50);
            s.queue.active_ttl_secs = 1;
        })
        .await,
    );
    let done = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (app, done, max_seen, samples) =
            (app.clone(), done.clone(), max_seen.clone(), samples.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let active = app.live_active(1).await;
                max_seen.fetch_max(active, Ordering::SeqCst);
                samples.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    // 90 buyers arrive over ~0.9 s; two in three leave as soon as they are admitted, the
    // rest let their admission expire.
    let buyers = (1..=90i64).map(|user| {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(user as u64 * 10)).await;
            let t = app.join(user as usize, 1, user).await;
            if user % 3 == 0 {
                return;
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
            while tokio::time::Instant::now() < deadline {
                let (status, body) = app.status(user as usize, &t.token).await;
                if status == StatusCode::OK && body["status"] == "active" {
                    assert_eq!(
                        app.leave(user as usize, &t.token).await,
                        StatusCode::NO_CONTENT
                    );
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    });
    for b in join_all(buyers).await {
        b.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    sampler.await.unwrap();

    let max = max_seen.load(Ordering::SeqCst);
    assert!(max <= CAPACITY, "{max} active with capacity {CAPACITY}");
    assert_eq!(max, CAPACITY, "the room filled up at some point");
    assert!(samples.load(Ordering::SeqCst) > 100);
    let (_, room) = app.admin(reqwest::Method::GET, 1, None).await;
    assert!(
        room["admitted_last_minute"].as_u64().unwrap() > 2 * CAPACITY,
        "{room}"
    );
    let app = Arc::into_inner(app).unwrap();
    app.stop().await;
}

#[tokio::test]
async fn leaving_frees_the_slot_for_the_next_in_line() {
    let app = Stack::gateways_with(2, |s| s.queue.capacity = 1).await;
    let a = app.join(0, 1, 1).await;
    let b = app.join(1, 1, 2).await;
    let c = app.join(0, 1, 3).await;
    assert_eq!(
        (a.state(), b.state(), c.state()),
        ("active", "waiting", "waiting")
    );
    assert_eq!(c.position(), 2);
    assert_eq!(app.leave(1, &a.token).await, StatusCode::NO_CONTENT);
    app.wait_active(&b.token, Duration::from_secs(5)).await;
    let (status, body) = app.status(1, &c.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["status"].as_str(), body["position"].as_u64()),
        (Some("waiting"), Some(1))
    );
    // Leaving the line (not an admission) also works.
    assert_eq!(app.leave(0, &c.token).await, StatusCode::NO_CONTENT);
    assert_eq!(app.waiting_len(1).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn expired_admission_frees_the_slot() {
    let app = Stack::gateways_with(1, |s| {
        s.queue.capacity = 1;
        s.queue.active_ttl_secs = 1;
    })
    .await;
    let a = app.join(0, 1, 1).await;
    let b = app.join(0, 1, 2).await;
    assert_eq!(b.state(), "waiting");
    app.wait_active(&b.token, Duration::from_secs(5)).await;
    // A's admission is over: its ticket is gone from the store, and joining again gives A a
    // new ticket behind B.
    let (status, _) = app.status(0, &a.token).await;
    assert!(
        status == StatusCode::GONE || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
    let again = app.join(0, 1, 1).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.claims(&app).seq > b.claims(&app).seq);
    app.stop().await;
}

#[tokio::test]
async fn a_backlog_of_expired_admissions_is_dropped_in_chunks_and_never_holds_the_line() {
    let app = Stack::gateways_with(1, |s| s.queue.capacity = 1).await;
    let a = app.join(0, 1, 1).await;
    assert_eq!(a.state(), "active");
    let b = app.join(0, 1, 2).await;
    assert_eq!(b.state(), "waiting");

    // 25,000 admissions that expired long ago (more than two ticks' worth of cleanup).
    // Each chunk's set and hash entries are written in one transaction, as the scripts
    // write them: a tick running between the two would drop the set entries and leave the
    // hash entries behind for good (no admission of theirs is left to drop).
    let mut redis = app.redis.clone();
    let fakes: Vec<i64> = (1_000_000..1_025_000).collect();
    for chunk in fakes.chunks(5_000) {
        let mut pipe = redis::pipe();
        pipe.atomic();
        let zadd = pipe.cmd("ZADD").arg(app.keys.active(1));
        for user in chunk {
            zadd.arg(1).arg(user);
        }
        let hset = pipe.cmd("HSET").arg(app.keys.active_seq(1));
        for user in chunk {
            hset.arg(user).arg(1);
        }
        let _: () = pipe.query_async(&mut redis).await.unwrap();
    }

    // A leaves: its slot goes to B at the next tick, expired backlog or not.
    assert_eq!(app.leave(0, &a.token).await, StatusCode::NO_CONTENT);
    // (Generous bounds: the test binary runs other heavy tests on the same cores.)
    app.wait_active(&b.token, Duration::from_secs(20)).await;

    // The backlog is gone after a few ticks, from the set and from the ticket hash.
    poll_until(
        Duration::from_secs(20),
        "the expired backlog to be dropped",
        || {
            let mut redis = redis.clone();
            let (active, seqs) = (app.keys.active(1), app.keys.active_seq(1));
            async move {
                let n: u64 = redis::cmd("ZCARD")
                    .arg(&active)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                let h: u64 = redis::cmd("HLEN")
                    .arg(&seqs)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                (n == 1 && h == 1).then_some(())
            }
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn one_tick_drops_at_most_ten_thousand_expired_admissions() {
    let app = Stack::gateways_with(0, |_| {}).await;
    let store = gateway::line::LineStore::new(&app.settings.redis, "test").unwrap();
    let room = shared::store::RoomSettings {
        capacity: 100,
        batch_size: 10,
        tick_ms: 10,
        active_ttl_secs: 600,
        mode: shared::store::RoomMode::Open,
        opens_at: None,
        prequeue_secs: 900,
        waitlist: true,
    };
    store.put_room(7, &room, None, 0).await.unwrap();
    let mut redis = app.redis.clone();
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(app.keys.active(7));
    for user in 1..=12_000 {
        zadd.arg(1).arg(user);
    }
    let _: () = zadd.query_async(&mut redis).await.unwrap();

    let first = store.promote(7, "test").await.unwrap().unwrap();
    assert_eq!((first.ran, first.dropped), (true, 10_000), "{first:?}");
    tokio::time::sleep(Duration::from_millis(30)).await; // next 10 ms slot
    let second = store.promote(7, "test").await.unwrap().unwrap();
    assert_eq!((second.ran, second.dropped), (true, 2_000), "{second:?}");
    let left: u64 = redis::cmd("ZCARD")
        .arg(app.keys.active(7))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}
