//! One place per ticket: random joins, leaves, admissions, payments and expiries against
//! real Redis, and after each step every ticket's place as the snapshot tells it
//! (`admission::place::decide`, which polls and push streams both call) against what the
//! status script says. Fresh snapshot: every answer the snapshot gives is Redis's. One step
//! stale (the documented staleness): a `settled` waiting answer is still waiting in Redis
//! (or gone by its own leave), never admitted, and never further back than memory said.

use std::collections::BTreeMap;
use std::time::Duration;

use gateway::admission::place::{decide, Held, Known, Snapshot};
use gateway::admission::positions::{EndedTickets, LeftTickets};
use gateway::line::LineStore;
use gateway::line::{JoinOutcome, Tick};
use proptest::prelude::*;
use shared::config::RedisSettings;
use shared::store::{Lookup, Place, RoomMode, RoomSettings};
use shared::token::TicketStatus;

const CONCERT: i64 = 7;

#[derive(Debug, Clone)]
enum Step {
    Join(i64),
    /// The n-th ticket we hold leaves (waiting or active).
    Leave(usize),
    /// One admission tick.
    Tick,
    /// The n-th ticket's admission is paid for (booking's end of admission).
    Pay(usize),
    /// The n-th ticket's admission runs out (its expiry, in Redis and in its token, moved
    /// to the past).
    Expire(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1i64..400).prop_map(Step::Join),
        3 => any::<prop::sample::Index>().prop_map(|i| Step::Leave(i.index(1 << 16))),
        3 => Just(Step::Tick),
        1 => any::<prop::sample::Index>().prop_map(|i| Step::Pay(i.index(1 << 16))),
        1 => any::<prop::sample::Index>().prop_map(|i| Step::Expire(i.index(1 << 16))),
    ]
}

/// What a buyer's client holds: its ticket and the status its latest token says.
#[derive(Debug, Clone, Copy)]
struct Token {
    seq: i64,
    held: Held,
}

struct Room {
    store: LineStore,
    left: LeftTickets,
    ended: EndedTickets,
    tick: Option<Tick>,
    tokens: BTreeMap<i64, Token>,
}

impl Room {
    async fn new(capacity: u64, batch_size: u64) -> Self {
        let store = LineStore::new(
            &RedisSettings {
                url: testkit::redis_url(),
                cluster_urls: None,
                key_prefix: testkit::redis::unique_prefix(),
                timeout_ms: 5_000,
                connections: 1,
            },
            "places",
        )
        .unwrap();
        let settings = RoomSettings {
            capacity,
            batch_size,
            tick_ms: 5,
            active_ttl_secs: 600,
            mode: RoomMode::Open,
            opens_at: None,
            prequeue_secs: 0,
            waitlist: true,
        };
        store.put_room(CONCERT, &settings, None, 1).await.unwrap();
        Room {
            store,
            left: LeftTickets::new(10_000),
            ended: EndedTickets::new(10_000),
            tick: None,
            tokens: BTreeMap::new(),
        }
    }

    fn nth(&self, n: usize) -> Option<(i64, Token)> {
        if self.tokens.is_empty() {
            return None;
        }
        let (&user, &token) = self.tokens.iter().nth(n % self.tokens.len())?;
        Some((user, token))
    }

    /// What the ticker observes: a promote reply and the departures read after it.
    async fn observe(&mut self) {
        let tick = self
            .store
            .promote(CONCERT, "places")
            .await
            .unwrap()
            .unwrap();
        let read = self
            .store
            .departures_since(
                CONCERT,
                self.left.since_ms(CONCERT),
                self.ended.since_ms(CONCERT),
            )
            .await
            .unwrap();
        self.left.merge(CONCERT, &read.left, tick.head_seq);
        self.ended.merge(
            CONCERT,
            &read.ended,
            tick.now_ms,
            tick.active_ttl_secs as i64 * 1000,
        );
        self.tick = Some(tick);
    }

    fn decide(&self, held: Held) -> Known {
        let tick = self.tick.as_ref().unwrap();
        decide(
            &Snapshot {
                concert_id: CONCERT,
                tick,
                age: Duration::ZERO,
                left: &self.left,
                ended: &self.ended,
            },
            held,
        )
    }

    async fn redis(&self, user: i64, token: Token) -> Lookup {
        self.store
            .status(CONCERT, user, token.seq, token.held.epoch)
            .await
            .unwrap()
    }

    async fn run(&mut self, step: &Step) {
        match *step {
            Step::Join(user) => {
                if let JoinOutcome::Placed { ticket, .. } =
                    self.store.join(CONCERT, user).await.unwrap()
                {
                    self.tokens.insert(user, token_of(&ticket));
                }
            }
            Step::Leave(n) => {
                if let Some((user, token)) = self.nth(n) {
                    self.store.leave(CONCERT, user, token.seq).await.unwrap();
                }
            }
            Step::Tick => {
                // A new slot of the 5 ms tick: this promote call runs it.
                tokio::time::sleep(Duration::from_millis(6)).await;
                self.store.promote(CONCERT, "places").await.unwrap();
            }
            Step::Pay(n) => {
                if let Some((user, token)) = self.nth(n) {
                    self.store
                        .end_admission(CONCERT, user, token.seq)
                        .await
                        .unwrap();
                }
            }
            Step::Expire(n) => {
                // Time reaches the admission's expiry: its score and the token's `exp`.
                if let Some((user, token)) = self
                    .nth(n)
                    .filter(|(_, t)| t.held.status == TicketStatus::Active)
                {
                    self.tokens.insert(
                        user,
                        Token {
                            held: Held {
                                expires_at_ms: 1_000,
                                ..token.held
                            },
                            ..token
                        },
                    );
                    let key = self.store.keys().active(CONCERT);
                    let mut conn = testkit::redis::conn().await;
                    let _: () = redis::cmd("ZADD")
                        .arg(&key)
                        .arg("XX")
                        .arg(1)
                        .arg(user)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

/// The token a client holds after an answer for `ticket`.
fn token_of(ticket: &shared::store::Ticket) -> Token {
    let (status, expires_at_ms) = match ticket.place {
        // `exp` is the expiry rounded up to the second.
        Place::Active { expires_at_ms } => {
            (TicketStatus::Active, (expires_at_ms + 999) / 1000 * 1000)
        }
        Place::Waiting { .. } => (TicketStatus::Waiting, 0),
        Place::Prequeue { .. } => (TicketStatus::Prequeue, 0),
    };
    Token {
        seq: ticket.seq,
        held: Held {
            status,
            seq: ticket.seq,
            epoch: ticket.epoch,
            expires_at_ms,
        },
    }
}

/// A fresh snapshot's answer must be Redis's.
fn agrees(known: Known, redis: &Lookup) -> Result<(), String> {
    let ok = match (known, redis) {
        (Known::Ask | Known::Unchanged, _) => true,
        (Known::Waiting { rank, .. }, Lookup::Found(t)) => t.place == Place::Waiting { rank },
        (Known::Active { .. }, Lookup::Found(t)) => matches!(t.place, Place::Active { .. }),
        (Known::Gone, Lookup::Gone) => true,
        _ => false,
    };
    ok.then_some(())
        .ok_or_else(|| format!("memory {known:?}, Redis {redis:?}"))
}

async fn case(
    capacity: u64,
    batch_size: u64,
    initial: i64,
    steps: Vec<Step>,
) -> Result<(), String> {
    let mut room = Room::new(capacity, batch_size).await;
    for user in 1000..1000 + initial {
        room.run(&Step::Join(user)).await;
    }
    room.observe().await;
    for step in &steps {
        // Before the step: what a settled waiting answer says now.
        let before: Vec<(i64, Token, Known)> = room
            .tokens
            .iter()
            .map(|(&user, &token)| (user, token, room.decide(token.held)))
            .collect();
        room.run(step).await;
        // One step stale: settled waiting answers never turned into admissions.
        for (user, token, known) in &before {
            if let Known::Waiting {
                rank,
                settled: true,
            } = *known
            {
                match room.redis(*user, *token).await {
                    Lookup::Found(t) => match t.place {
                        Place::Waiting { rank: now } if now <= rank => {}
                        other => {
                            return Err(format!(
                                "after {step:?}: user {user} was settled at rank {rank}, \
                                 Redis says {other:?}"
                            ))
                        }
                    },
                    // It left, or was paid for or expired after all (only its own step).
                    Lookup::Gone => {}
                    other => return Err(format!("after {step:?}: user {user}: {other:?}")),
                }
            }
        }
        room.observe().await;
        let users: Vec<(i64, Token)> = room.tokens.iter().map(|(&u, &t)| (u, t)).collect();
        for (user, token) in users {
            let known = room.decide(token.held);
            let redis = room.redis(user, token).await;
            agrees(known, &redis).map_err(|e| format!("after {step:?}: user {user}: {e}"))?;
            // The client polls: its token follows Redis (a new token on admission).
            match redis {
                Lookup::Found(ticket) => {
                    room.tokens.insert(user, token_of(&ticket));
                }
                _ => {
                    room.tokens.remove(&user);
                }
            }
        }
    }
    testkit::redis::delete_prefix(room.store.keys().prefix());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn polls_streams_and_the_status_script_agree_on_every_place(
        capacity in 1u64..12,
        batch_size in 1u64..8,
        initial in 0i64..120,
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(case(capacity, batch_size, initial, steps));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
