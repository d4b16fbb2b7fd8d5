//! Redis through Sentinel (PRODUCT.md §9): two `mati` replicas find the Redis master
//! through three sentinels. Under a steady load of submissions and reads the replica
//! falls behind (its link to the master is cut, so the master holds queue entries the
//! replica never gets, as asynchronous replication allows) and the master is killed
//! (SIGKILL); the sentinels promote the replica. Without a restart both replicas follow:
//! /readyz is ok again within seconds, no request failed, every acknowledged submission
//! reaches the moderation queue exactly once (those whose entries died with the old
//! master too), the per-token limit holds across replicas again, a live inbox opened
//! before the failover hears an approval made after it, and Mati writes to the new master.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mati_tests::{Backend, NOBODY, PrivateRedis, Reply, Sentinels, Submission, TestApp, first_error};
use serde_json::{Value, json};

/// The name the sentinels monitor the master under.
const MASTER_NAME: &str = "mati";
/// Submissions per citizen token: the load never exceeds it.
const BURST: usize = 4;
const START_SESSION: &str = "mutation { startCitizenSession { token } }";
const TRACK: &str = "query($c: String!) { commentByTrackingCode(trackingCode: $c) { id status } }";
/// Mati's keys (the default prefix).
const ENTRIES: &str = "mati:moderation:entries";
const BUILT: &str = "mati:moderation:built";
const EVENTS: &str = "mati:events";

/// When a submission was acknowledged: before the master died, while the replicas
/// followed the failover, after both were ready again.
const BEFORE: u8 = 0;
const DURING: u8 = 1;
const AFTER: u8 = 2;

/// What the load saw.
#[derive(Default)]
struct Tally {
    /// Acknowledged comments (id) by phase.
    acknowledged: BTreeMap<u8, Vec<String>>,
    /// Requests answered without an error.
    served: usize,
    /// Requests refused with RATE_LIMITED.
    rate_limited: usize,
    /// Any other answer: status and body.
    failed: Vec<String>,
}

impl Tally {
    /// Counts a reply; whether it was served.
    fn record(&mut self, reply: &Reply) -> bool {
        if reply.accepted() {
            self.served += 1;
            return true;
        }
        if first_error(&reply.body)["extensions"]["code"] == "RATE_LIMITED" {
            self.rate_limited += 1;
        } else {
            self.failed.push(format!("{} {}", reply.status, reply.body));
        }
        false
    }

    fn add(&mut self, other: Tally) {
        for (phase, ids) in other.acknowledged {
            self.acknowledged.entry(phase).or_default().extend(ids);
        }
        self.served += other.served;
        self.rate_limited += other.rate_limited;
        self.failed.extend(other.failed);
    }

    fn all(&self) -> BTreeSet<String> {
        self.acknowledged.values().flatten().cloned().collect()
    }
}

/// What the load needs to know of the test.
struct Load {
    stop: AtomicBool,
    phase: AtomicU8,
    acknowledged: AtomicUsize,
}

impl Load {
    /// Marks what follows as after the failover; once `settle` has passed and ten more
    /// submissions were acknowledged, stops the load.
    async fn end_after_ten_more(&self, settle: Duration) {
        self.phase.store(AFTER, Ordering::Relaxed);
        let now = self.acknowledged.load(Ordering::Relaxed);
        tokio::time::sleep(settle).await;
        eventually(
            "ten submissions after the failover",
            Duration::from_secs(10),
            || async { self.acknowledged.load(Ordering::Relaxed) >= now + 10 },
        )
        .await;
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A citizen after another submits `BURST` comments (each with a clientId, retried
/// with it when refused) and reads each back by its tracking code, until told to stop.
async fn citizens(app: &TestApp, worker: usize, load: &Load) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let session = app.call(NOBODY, START_SESSION, json!({})).reply().await;
        if !tally.record(&session) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let citizen = session.body["data"]["startCitizenSession"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..BURST {
            n += 1;
            let body = format!("Worker {worker}, comment {n}: the bridge to the market is broken.");
            let submission = Submission::new("120101", "LOCAL_ROADS", body).client_id(format!("w{worker}-{n}"));
            let mut comment = None;
            for _ in 0..5 {
                let reply = app.submit(&citizen, &submission).reply().await;
                if tally.record(&reply) {
                    comment = Some(reply.body["data"]["submitComment"]["comment"].clone());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let Some(comment) = comment else { continue };
            let id = comment["id"].as_str().unwrap().to_owned();
            let phase = load.phase.load(Ordering::Relaxed);
            tally.acknowledged.entry(phase).or_default().push(id.clone());
            load.acknowledged.fetch_add(1, Ordering::Relaxed);
            let read = app
                .call(NOBODY, TRACK, json!({ "c": comment["trackingCode"] }))
                .reply()
                .await;
            if tally.record(&read) {
                assert_eq!(read.body["data"]["commentByTrackingCode"]["id"], id.as_str());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tally
}

/// Polls `/readyz` until Redis is reachable; how long it took.
async fn wait_until_ready(app: &TestApp, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let body: Value = app.get("/readyz").await.json().await.unwrap();
        if body["redis"] == "ok" {
            assert_eq!(body["status"], "ok", "{body}");
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "/readyz still says {body} after {within:?}\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `within`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The comment ids of the queue's entries on `redis`.
async fn entries(redis: &PrivateRedis) -> BTreeSet<String> {
    let mut conn = redis.connection().await;
    redis::cmd("HKEYS").arg(ENTRIES).query_async(&mut conn).await.unwrap()
}

/// Mati's rate-limit keys on `redis`.
async fn limit_keys(redis: &PrivateRedis) -> BTreeSet<String> {
    let mut conn = redis.connection().await;
    redis::cmd("KEYS")
        .arg("mati:rl:*")
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// Claims until every one of `expected` came, each once; then no more come.
async fn claim_all(app: &TestApp, moderator: &str, other: &str, expected: &BTreeSet<String>) -> Duration {
    let started = Instant::now();
    let mut claimed = BTreeSet::new();
    while &claimed != expected {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never claimed {:?}\n{}",
            expected.difference(&claimed).collect::<Vec<_>>(),
            app.log()
        );
        for item in app.claim(moderator, 100).await.as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            assert_eq!(item["status"], "PENDING", "{item}");
            assert!(expected.contains(&id), "claimed {id}, never acknowledged");
            assert!(claimed.insert(id.clone()), "{id} was handed out twice");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let again = app.claim(other, 100).await;
        assert_eq!(again, json!([]), "items queued twice");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    took
}

/// A master, its replica, and three sentinels (quorum 2) that agree on them; `None`
/// (skip) when `redis-server` is missing and not required.
async fn topology() -> Option<(PrivateRedis, PrivateRedis, Sentinels)> {
    let master = PrivateRedis::start().await?;
    let replica = PrivateRedis::replica_of(&master).await?;
    let sentinels = Sentinels::start(MASTER_NAME, master.port, 3, 2).await?;
    sentinels.wait_until_watching(1, Duration::from_secs(20)).await;
    Some((master, replica, sentinels))
}

/// The settings of a `mati` replica that finds Redis through `sentinels`, with limits
/// that let the load run from one address.
fn settings(sentinels: &Sentinels) -> Vec<(&'static str, String)> {
    vec![
        ("MATI_REDIS_SENTINELS", sentinels.addresses()),
        ("MATI_REDIS_MASTER_NAME", MASTER_NAME.to_owned()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", format!("{BURST}/60s")),
        ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "100000/60s".to_owned()),
        ("MATI_RATE_LIMIT_START_SESSION_PER_ADDRESS", "100000/60s".to_owned()),
        ("MATI_RATE_LIMIT_TRACK_PER_ADDRESS", "100000/60s".to_owned()),
    ]
}

/// How many listen to Mati's live events on `redis`.
async fn listeners(redis: &PrivateRedis) -> usize {
    let mut conn = redis.connection().await;
    let (_, listeners): (String, usize) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(EVENTS)
        .query_async(&mut conn)
        .await
        .unwrap();
    listeners
}

/// Waits for `inbox` to tell that comment `id` was routed.
async fn hears_routed(inbox: &mut tokio::sync::mpsc::UnboundedReceiver<Value>, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline.into(), inbox.recv()).await {
        if event["comment"]["id"] == id && event["kind"] == "ROUTED" {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_promoted_under_load_is_followed_without_a_restart_and_nothing_is_lost() {
    let test_started = Instant::now();
    let Some((mut master, replica, sentinels)) = topology().await else {
        return;
    };
    let settings = settings(&sentinels);
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(a) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let b = a.replica(&env).await;
    for app in [&a, &b] {
        wait_until_ready(app, Duration::from_secs(10)).await;
    }
    let moderator = a.staff("moderator", "mod-sentinel", None).await;
    let other_moderator = a.staff("moderator", "mod-sentinel-2", None).await;
    let official = a.staff("official", "official-sentinel", Some("120101")).await;
    let mut inbox = a.live_inbox(&official).await;
    let topology_ready = test_started.elapsed();

    let load = Load {
        stop: AtomicBool::new(false),
        phase: AtomicU8::new(BEFORE),
        acknowledged: AtomicUsize::new(0),
    };
    let stranded = Mutex::new(BTreeSet::new());
    let timings = Mutex::new(BTreeMap::new());
    let failover = async {
        eventually(
            "ten submissions before the failover",
            Duration::from_secs(10),
            || async { load.acknowledged.load(Ordering::Relaxed) >= 10 },
        )
        .await;
        // The replica holds the queue's marker: the new master will say the queue is
        // built, and only Mati's following the failover can bring lost entries back.
        let mut to_replica = replica.connection().await;
        eventually("the replica has the queue's marker", Duration::from_secs(5), || {
            let mut conn = to_replica.clone();
            async move {
                redis::cmd("EXISTS")
                    .arg(BUILT)
                    .query_async::<bool>(&mut conn)
                    .await
                    .unwrap()
            }
        })
        .await;
        // The replica falls behind: its link is cut and it cannot log in again.
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("masterauth")
            .arg("not-the-password")
            .query_async(&mut to_replica)
            .await
            .unwrap();
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("master")
            .query_async(&mut to_replica)
            .await
            .unwrap();
        eventually(
            "queue entries the replica never got",
            Duration::from_secs(10),
            || async {
                let lost: BTreeSet<String> = entries(&master)
                    .await
                    .difference(&entries(&replica).await)
                    .cloned()
                    .collect();
                let found = !lost.is_empty();
                *stranded.lock().unwrap() = lost;
                found
            },
        )
        .await;

        master.stop();
        let killed = Instant::now();
        load.phase.store(DURING, Ordering::Relaxed);
        eventually("the sentinels promote the replica", Duration::from_secs(20), || async {
            sentinels.master_port().await == Some(replica.port)
        })
        .await;
        timings.lock().unwrap().insert("promoted", killed.elapsed());
        for (name, app) in [("A ready", &a), ("B ready", &b)] {
            wait_until_ready(app, Duration::from_secs(20).saturating_sub(killed.elapsed())).await;
            timings.lock().unwrap().insert(name, killed.elapsed());
        }
        load.end_after_ten_more(Duration::from_secs(2)).await;
    };
    let (_, tallies) = tokio::join!(
        failover,
        futures::future::join_all([(&a, 0), (&a, 1), (&b, 2), (&b, 3)].map(|(app, w)| citizens(app, w, &load)))
    );
    let mut tally = Tally::default();
    for one in tallies {
        tally.add(one);
    }
    let stranded = stranded.into_inner().unwrap();
    let timings = timings.into_inner().unwrap();

    // No request failed; none was refused either (no citizen exceeds its burst, and
    // a limit that starts afresh only allows more).
    assert!(tally.failed.is_empty(), "requests failed: {:#?}", tally.failed);
    assert_eq!(tally.rate_limited, 0, "refused while no citizen exceeded its burst");
    for phase in [BEFORE, DURING, AFTER] {
        assert!(
            tally.acknowledged.get(&phase).is_some_and(|ids| !ids.is_empty()),
            "no submission acknowledged in phase {phase}"
        );
    }
    let acknowledged = tally.all();
    assert!(stranded.is_subset(&acknowledged));

    // The new master holds the queue: every acknowledged comment, those whose entries
    // died with the old master too.
    let new_master = &replica;
    eventually(
        "every comment on the new master's queue",
        Duration::from_secs(10),
        || async { entries(new_master).await.is_superset(&acknowledged) },
    )
    .await;
    // A moderator gets each exactly once.
    let claimed_in = claim_all(&a, &moderator, &other_moderator, &acknowledged).await;

    // The per-token limit holds across both replicas again: each one's local layer
    // alone would allow the burst, Redis allows it once in all; its key is written on
    // the new master.
    let keys_before = limit_keys(new_master).await;
    let citizen = a.citizen().await;
    let mut accepted = 0;
    for n in 0..2 * BURST {
        let app = if n % 2 == 0 { &a } else { &b };
        let submission =
            Submission::new("120101", "LOCAL_ROADS", "The bridge is still broken.").client_id(format!("limit-{n}"));
        let reply = app.submit(&citizen, &submission).reply().await;
        if reply.accepted() {
            accepted += 1;
        } else {
            assert_eq!(reply.status, 429, "{}", reply.body);
            assert_eq!(first_error(&reply.body)["extensions"]["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(accepted, BURST, "one burst across both replicas");
    let new_keys: Vec<String> = limit_keys(new_master).await.difference(&keys_before).cloned().collect();
    assert!(!new_keys.is_empty(), "no rate-limit key written on the new master");

    // Live events: both replicas listen on the new master again; an approval on B
    // reaches the inbox A opened before the failover.
    eventually(
        "both replicas subscribed on the new master",
        Duration::from_secs(10),
        || async { listeners(new_master).await == 2 },
    )
    .await;
    let approved = acknowledged.last().unwrap().clone();
    assert_eq!(b.approve(&moderator, &approved).await["status"], "ROUTED");
    assert!(
        hears_routed(&mut inbox, &approved).await,
        "the live inbox opened before the failover heard nothing of {approved}\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );

    let per_phase: Vec<usize> = [BEFORE, DURING, AFTER]
        .iter()
        .map(|p| tally.acknowledged.get(p).map_or(0, Vec::len))
        .collect();
    eprintln!(
        "sentinel failover: topology and replicas ready after {topology_ready:?}; acknowledged \
         {per_phase:?} (before, during, after), {} requests served, {} refused, {} failed; {} queue \
         entries lost with the old master and restored; after the kill: {timings:?}; every comment \
         claimed within {claimed_in:?}; whole test {:?}",
        tally.served,
        tally.rate_limited,
        tally.failed.len(),
        stranded.len(),
        test_started.elapsed()
    );
}

/// `ROLE` of `redis`: `master` or `slave`.
async fn role(redis: &PrivateRedis) -> String {
    let mut conn = redis.connection().await;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await.unwrap();
    match role.first() {
        Some(redis::Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("ROLE answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_demoted_by_a_sentinel_failover_is_left_for_the_promoted_replica() {
    let test_started = Instant::now();
    let Some((master, replica, sentinels)) = topology().await else {
        return;
    };
    let settings = settings(&sentinels);
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    wait_until_ready(&app, Duration::from_secs(10)).await;
    let moderator = app.staff("moderator", "mod-demoted", None).await;
    let other_moderator = app.staff("moderator", "mod-demoted-2", None).await;
    eventually("the events listener on the master", Duration::from_secs(5), || async {
        listeners(&master).await == 1
    })
    .await;

    let load = Load {
        stop: AtomicBool::new(false),
        phase: AtomicU8::new(BEFORE),
        acknowledged: AtomicUsize::new(0),
    };
    let timings = Mutex::new(BTreeMap::new());
    let failover = async {
        eventually(
            "ten submissions before the failover",
            Duration::from_secs(10),
            || async { load.acknowledged.load(Ordering::Relaxed) >= 10 },
        )
        .await;
        // The old master lives on: the sentinels make it a replica of the new one, and
        // its writes get READONLY. Mati must leave it, subscriptions included.
        let mut to_sentinel = redis::Client::open(format!("redis://127.0.0.1:{}", sentinels.ports[0]))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: String = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(MASTER_NAME)
            .query_async(&mut to_sentinel)
            .await
            .unwrap();
        let started = Instant::now();
        load.phase.store(DURING, Ordering::Relaxed);
        // Mati moves once the sentinels name the new master, without waiting for them
        // to demote the old one (which takes them up to ten seconds more).
        eventually(
            "Mati listening on the new master only",
            Duration::from_secs(10),
            || async {
                role(&replica).await == "master" && listeners(&replica).await == 1 && listeners(&master).await == 0
            },
        )
        .await;
        wait_until_ready(&app, Duration::from_secs(10)).await;
        timings.lock().unwrap().insert("Mati moved", started.elapsed());
        eventually("the old master demoted", Duration::from_secs(15), || async {
            role(&master).await == "slave"
        })
        .await;
        timings.lock().unwrap().insert("old master demoted", started.elapsed());
        load.end_after_ten_more(Duration::ZERO).await;
    };
    let (_, tallies) = tokio::join!(
        failover,
        futures::future::join_all([0, 1].map(|worker| citizens(&app, worker, &load)))
    );
    let mut tally = Tally::default();
    for one in tallies {
        tally.add(one);
    }
    assert!(tally.failed.is_empty(), "requests failed: {:#?}", tally.failed);
    assert_eq!(tally.rate_limited, 0, "refused while no citizen exceeded its burst");
    for phase in [BEFORE, AFTER] {
        assert!(
            tally.acknowledged.get(&phase).is_some_and(|ids| !ids.is_empty()),
            "no submission acknowledged in phase {phase}"
        );
    }
    // Whatever the old master took after the promotion is gone with its resync: the
    // queue on the new master holds every comment all the same, and each is claimed once.
    let acknowledged = tally.all();
    eventually(
        "every comment on the new master's queue",
        Duration::from_secs(10),
        || async { entries(&replica).await.is_superset(&acknowledged) },
    )
    .await;
    let claimed_in = claim_all(&app, &moderator, &other_moderator, &acknowledged).await;
    eprintln!(
        "sentinel failover of a live master: after SENTINEL FAILOVER {:?}; acknowledged {:?} \
         (before, during, after); every comment claimed within {claimed_in:?}; whole test {:?}",
        timings.into_inner().unwrap(),
        [BEFORE, DURING, AFTER].map(|p| tally.acknowledged.get(&p).map_or(0, Vec::len)),
        test_started.elapsed()
    );
}
