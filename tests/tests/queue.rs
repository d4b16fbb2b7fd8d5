//! The moderation queue: leases are exclusive and expire, deciding an item removes it,
//! many moderators on many replicas decide each comment exactly once, and a queue kept
//! in Redis is rebuilt from the database after FLUSHALL or a restart, whose leases
//! (recorded in the database) survive both. Without Redis the database leases items
//! with the same rules.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use mati_tests::{Backend, PrivateRedis, TestApp, redis_prefix, redis_url};
use serde_json::{Value, json};

const QUEUE: &str = "{ moderationQueue(first: 100) { id } }";
const COMMENT: &str = "query($id: ID!) { comment(id: $id) { status events { kind } } }";
/// Submission limits high enough to seed hundreds of comments from one address.
const MANY: &str = "1000/60s";

/// Submits `n` comments (one citizen, 16 at a time); their ids.
async fn submit_many(app: &TestApp, n: usize) -> Vec<String> {
    let citizen = app.citizen().await;
    let citizen = citizen.as_str();
    stream::iter(0..n)
        .map(|i| async move {
            let body = format!("Comment number {i}: the road to the school floods.");
            app.submit_comment(citizen, "120101", "LOCAL_ROADS", &body).await
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Claims up to `n` items; their ids, in the order returned (every one PENDING).
async fn claim(app: &TestApp, token: &str, n: i32) -> Vec<String> {
    let data = app.claim(token, n).await;
    let items = data.as_array().unwrap();
    assert!(
        items.iter().all(|c| c["status"] == "PENDING"),
        "claimed a decided item: {data}"
    );
    items.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

/// Approves; `None` when it worked, else the error code.
async fn approve(app: &TestApp, token: &str, id: &str) -> Option<String> {
    let response = app.approve(token, id).response().await;
    match response.get("errors") {
        None => {
            assert_eq!(response["data"]["moderateComment"]["status"], "ROUTED", "{response}");
            None
        }
        Some(errors) => Some(errors[0]["extensions"]["code"].as_str().unwrap_or("?").to_owned()),
    }
}

/// The ids still PENDING in the database.
async fn still_pending(app: &TestApp, moderator: &str) -> BTreeSet<String> {
    let data = app.ok(Some(moderator), QUEUE, json!({})).await;
    let queue = data["moderationQueue"].as_array().unwrap();
    queue.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "an id was returned twice: {ids:?}");
    set
}

/// What one moderator did.
#[derive(Default)]
struct Worked {
    claimed: Vec<String>,
    conflicts: usize,
    other_errors: Vec<String>,
}

/// Claims ten at a time and approves each, until two claims in a row (a pause apart)
/// come back empty.
async fn work_through(app: &TestApp, token: &str) -> Worked {
    let mut worked = Worked::default();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut empty = 0;
    while empty < 2 {
        assert!(Instant::now() < deadline, "the queue did not drain in time");
        let batch = claim(app, token, 10).await;
        if batch.is_empty() {
            empty += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        empty = 0;
        for id in batch {
            match approve(app, token, &id).await.as_deref() {
                None => {}
                Some("CONFLICT") => worked.conflicts += 1,
                Some(other) => worked.other_errors.push(format!("{id}: {other}")),
            }
            worked.claimed.push(id);
        }
    }
    worked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_moderators_on_three_replicas_decide_300_comments_exactly_once() {
    let Some(prefix) = redis_prefix().await else { return };
    let url = redis_url();
    let env = [
        ("MATI_REDIS_URL", url.as_str()),
        ("MATI_REDIS_PREFIX", prefix.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", MANY),
        ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", MANY),
    ];
    let Some(app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let second = app.replica(&env).await;
    let third = app.replica(&env).await;

    let started = Instant::now();
    let submitted = set(&submit_many(&app, 300).await);
    assert_eq!(submitted.len(), 300);
    eprintln!("submitted 300 in {:?}", started.elapsed());

    let replicas = [&app, &second, &third];
    let mut tokens = Vec::new();
    for n in 0..replicas.len() {
        tokens.push(app.staff("moderator", &format!("mod{n}"), None).await);
    }
    let started = Instant::now();
    let work = replicas
        .iter()
        .zip(&tokens)
        .map(|(replica, token)| work_through(replica, token));
    let worked = futures::future::join_all(work).await;
    eprintln!("worked through the queue in {:?}", started.elapsed());

    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (n, w) in worked.iter().enumerate() {
        eprintln!("moderator {n} (replica {n}) decided {}", w.claimed.len());
        assert!(w.other_errors.is_empty(), "moderator {n}: {:?}", w.other_errors);
        assert_eq!(w.conflicts, 0, "moderator {n} got CONFLICT: an item was leased twice");
        for id in &w.claimed {
            if let Some(first) = owner.insert(id, n) {
                panic!("comment {id} was claimed by moderators {first} and {n}");
            }
        }
    }
    let claimed: BTreeSet<String> = owner.keys().map(|id| (*id).to_owned()).collect();
    assert_eq!(
        claimed, submitted,
        "every submitted comment is claimed, and nothing else"
    );
    assert!(
        still_pending(&app, &tokens[0]).await.is_empty(),
        "the database queue is empty"
    );
}

/// Five pending comments; A leases three, B the other two; when A's lease expires B
/// gets A's three; a decision is taken once whoever holds the lease.
async fn leases_are_exclusive_and_expire(app: TestApp) {
    let all = set(&submit_many(&app, 5).await);
    let a = app.staff("moderator", "mod-a", None).await;
    let b = app.staff("moderator", "mod-b", None).await;

    let leased_at = Instant::now();
    let of_a = claim(&app, &a, 3).await;
    assert_eq!(of_a.len(), 3, "{of_a:?}");
    let of_b = claim(&app, &b, 10).await;
    let (of_a, of_b) = (set(&of_a), set(&of_b));
    assert_eq!(of_b.len(), 2, "B gets only the two A does not hold: {of_b:?}");
    assert!(of_a.is_disjoint(&of_b), "a live lease is exclusive: {of_a:?} {of_b:?}");
    assert_eq!(&of_a | &of_b, all);
    assert!(claim(&app, &a, 10).await.is_empty(), "nothing is left to lease");
    assert!(
        leased_at.elapsed() < Duration::from_millis(900),
        "too slow to test a one-second lease"
    );

    // B decides its two, so that only A's three are left.
    for id in &of_b {
        assert_eq!(approve(&app, &b, id).await, None);
    }
    // A's lease runs out: B gets A's three, and not before.
    let deadline = Instant::now() + Duration::from_secs(10);
    let taken_over = loop {
        let got = claim(&app, &b, 10).await;
        if !got.is_empty() {
            break set(&got);
        }
        assert!(Instant::now() < deadline, "A's items never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        leased_at.elapsed() >= Duration::from_secs(1),
        "a lease was broken early: {:?}",
        leased_at.elapsed()
    );
    assert_eq!(taken_over, of_a, "an expired lease returns the item to the queue");

    // A, whose lease expired, still decides one first; B's decision then conflicts.
    let x = of_a.first().unwrap();
    assert_eq!(approve(&app, &a, x).await, None);
    assert_eq!(approve(&app, &b, x).await.as_deref(), Some("CONFLICT"));
    let data = app.ok(Some(&a), COMMENT, json!({ "id": x })).await;
    let kinds: Vec<&Value> = data["comment"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(data["comment"]["status"], "ROUTED");
    assert_eq!(kinds.iter().filter(|k| **k == "APPROVED").count(), 1, "{kinds:?}");

    let left: BTreeSet<String> = of_a.iter().filter(|id| *id != x).cloned().collect();
    assert_eq!(still_pending(&app, &a).await, left);
    // The decided item is gone from the queue: B's live lease on the other two holds.
    assert!(claim(&app, &a, 10).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_returns_the_item_and_a_live_one_is_exclusive() {
    let Some(prefix) = redis_prefix().await else { return };
    let url = redis_url();
    let env = [
        ("MATI_REDIS_URL", url.as_str()),
        ("MATI_REDIS_PREFIX", prefix.as_str()),
        ("MATI_MODERATION_LEASE_SECS", "1"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", MANY),
    ];
    let Some(app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    leases_are_exclusive_and_expire(app).await;
}

mod without_redis_the_database_queue_leases_exclusively {
    use super::*;

    const ENV: [(&str, &str); 2] = [
        ("MATI_MODERATION_LEASE_SECS", "1"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", MANY),
    ];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let Some(app) = TestApp::start_with(Backend::Sqlite, &ENV).await else {
            return;
        };
        leases_are_exclusive_and_expire(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(app) = TestApp::start_with(Backend::Postgres, &ENV).await else {
            return;
        };
        leases_are_exclusive_and_expire(app).await;
    }
}

/// Polls `/readyz` until its `redis` field is `want`; how long that took.
async fn wait_for_redis(app: &TestApp, want: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let body: Value = app
            .client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["redis"] == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "/readyz never said redis {want}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Leases of the rebuild test: long enough for a Redis restart to happen inside one.
const REBUILD_LEASE: Duration = Duration::from_secs(8);

async fn the_queue_is_rebuilt(backend: Backend) {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let url = redis.url();
    let lease = REBUILD_LEASE.as_secs().to_string();
    let env = [
        ("MATI_REDIS_URL", url.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", MANY),
        ("MATI_MODERATION_LEASE_SECS", lease.as_str()),
    ];
    let Some(app) = TestApp::start_with(backend, &env).await else {
        return;
    };
    wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    let all = set(&submit_many(&app, 10).await);
    let a = app.staff("moderator", "mod-a", None).await;
    let b = app.staff("moderator", "mod-b", None).await;
    let c = app.staff("moderator", "mod-c", None).await;
    let leased_at = Instant::now();
    let of_a = set(&claim(&app, &a, 4).await);
    assert_eq!(of_a.len(), 4);

    // FLUSHALL loses the stream; it is rebuilt with every pending comment, once, and
    // A's leases, kept in the database, still hold.
    redis.flush_all().await;
    let after_flush = claim(&app, &b, 20).await;
    assert_eq!(&set(&after_flush) | &of_a, all, "rebuilt after FLUSHALL");
    assert!(set(&after_flush).is_disjoint(&of_a), "A's leases survive FLUSHALL");
    assert!(claim(&app, &a, 20).await.is_empty(), "nothing was added twice");
    let decided: BTreeSet<String> = after_flush.iter().take(2).cloned().collect();
    for id in &decided {
        assert_eq!(approve(&app, &b, id).await, None);
    }

    // A restart without persistence: mati notices, recovers, rebuilds; the leases hold.
    redis.stop();
    let down = wait_for_redis(&app, "unreachable", Duration::from_secs(3)).await;
    assert!(redis.resume().await, "redis-server restarts");
    let up = wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    eprintln!("redis seen down after {down:?}, up again after {up:?}");
    assert!(claim(&app, &c, 20).await.is_empty(), "an item was leased twice");
    assert!(
        leased_at.elapsed() < REBUILD_LEASE,
        "too slow to test a {REBUILD_LEASE:?} lease: {:?}",
        leased_at.elapsed()
    );

    // When the leases end, every pending comment comes back, once.
    let pending: BTreeSet<String> = all.difference(&decided).cloned().collect();
    let mut after_restart = BTreeSet::new();
    let deadline = Instant::now() + 3 * REBUILD_LEASE;
    while after_restart != pending {
        assert!(
            Instant::now() < deadline,
            "rebuilt after a restart: got {after_restart:?} of {pending:?}"
        );
        for id in claim(&app, &c, 20).await {
            assert!(after_restart.insert(id.clone()), "{id} came back twice");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(claim(&app, &a, 20).await.is_empty(), "nothing was added twice");
    assert_eq!(still_pending(&app, &c).await, pending);
}

mod the_queue_is_rebuilt_after_flushall_and_after_a_restart {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        the_queue_is_rebuilt(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        the_queue_is_rebuilt(Backend::Postgres).await;
    }
}
