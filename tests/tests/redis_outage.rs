//! Redis down: with a real redis-server of the test's own stopped, Mati keeps taking
//! submissions and answering reads without waiting on Redis, limits fall back to the
//! local layer, /readyz says degraded, and when Redis returns Mati recovers by itself
//! and the moderation queue holds every comment submitted meanwhile, once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mati_tests::{Backend, PrivateRedis, Submission, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// No request may wait on a dead Redis for much longer than its 500 ms timeout.
const BOUND: Duration = Duration::from_millis(1500);

/// `/readyz`: HTTP status and body.
async fn readyz(app: &TestApp) -> (StatusCode, Value) {
    let response = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Polls `/readyz` until its `redis` field is `want`; the body and how long it took.
async fn wait_for_redis(app: &TestApp, want: &str, within: Duration) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    loop {
        let (status, body) = readyz(app).await;
        if body["redis"] == want {
            return (status, body, started.elapsed());
        }
        assert!(started.elapsed() < within, "/readyz never said redis {want}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits comment `n`; the HTTP status, the response and its time.
async fn submit(app: &TestApp, citizen: &str, n: usize) -> (StatusCode, Value, Duration) {
    let well = format!("Comment {n}: the well in the village is dry.");
    let started = Instant::now();
    let reply = app
        .submit(citizen, &Submission::new("120101", "LOCAL_ROADS", well))
        .reply()
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap();
    (status, reply.body, started.elapsed())
}

/// Submits and expects success; the comment (id, trackingCode) and the time taken.
async fn submit_ok(app: &TestApp, citizen: &str, n: usize) -> (Value, Duration) {
    let (status, body, took) = submit(app, citizen, n).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("errors").is_none(),
        "submission {n} failed: {body}\n{}",
        app.log()
    );
    (body["data"]["submitComment"]["comment"].clone(), took)
}

/// Claims up to `n` items; their ids, each at most once.
async fn claim(app: &TestApp, token: &str, n: i32) -> BTreeSet<String> {
    let data = app.claim(token, n).await;
    let items = data.as_array().unwrap();
    assert!(items.iter().all(|c| c["status"] == "PENDING"), "{data}");
    let ids: BTreeSet<String> = items.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), items.len(), "an item was returned twice: {data}");
    ids
}

async fn keeps_serving_and_recovers(backend: Backend) {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let url = redis.url();
    let env = [
        ("MATI_REDIS_URL", url.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "3/60s"),
    ];
    let Some(app) = TestApp::start_with(backend, &env).await else {
        return;
    };
    let (status, body, _) = wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok", "database": "ok", "redis": "ok" }));
    let moderator = app.staff("moderator", "mod-a", None).await;
    let other_moderator = app.staff("moderator", "mod-b", None).await;
    let mut submitted = BTreeSet::new();
    let before = app.citizen().await;
    let (comment, _) = submit_ok(&app, &before, 0).await;
    submitted.insert(comment["id"].as_str().unwrap().to_owned());

    // Redis goes away. The very next requests, before the health flag has flipped,
    // do not wait on it either.
    redis.stop();
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    let early = app.citizen().await;
    slowest = slowest.max(started.elapsed());
    let (comment, took) = submit_ok(&app, &early, 1).await;
    slowest = slowest.max(took);
    submitted.insert(comment["id"].as_str().unwrap().to_owned());

    let (status, body, noticed) = wait_for_redis(&app, "unreachable", Duration::from_secs(3)).await;
    assert_eq!(status, StatusCode::OK, "still serving, so still ready: {body}");
    assert_eq!(
        body,
        json!({ "status": "degraded", "database": "ok", "redis": "unreachable" })
    );

    // Submissions succeed, each within the bound; the per-token limit holds locally.
    let mut codes = Vec::new();
    for round in 0..2 {
        let started = Instant::now();
        let citizen = app.citizen().await;
        slowest = slowest.max(started.elapsed());
        for n in 0..3 {
            let (comment, took) = submit_ok(&app, &citizen, 10 * (round + 1) + n).await;
            slowest = slowest.max(took);
            submitted.insert(comment["id"].as_str().unwrap().to_owned());
            codes.push(comment["trackingCode"].as_str().unwrap().to_owned());
        }
        let (status, body, took) = submit(&app, &citizen, 99).await;
        slowest = slowest.max(took);
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    }

    // Reads succeed.
    for code in &codes {
        let started = Instant::now();
        let data = app
            .ok(
                None,
                "query($c: String!) { commentByTrackingCode(trackingCode: $c) { trackingCode status } }",
                json!({ "c": code }),
            )
            .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(data["commentByTrackingCode"]["trackingCode"], code.as_str());
        assert_eq!(data["commentByTrackingCode"]["status"], "PENDING");
    }
    let started = Instant::now();
    let data = app.ok(None, "{ comments { totalCount } }", json!({})).await;
    slowest = slowest.max(started.elapsed());
    assert_eq!(data["comments"]["totalCount"], 0, "nothing is public before moderation");
    let data = app
        .ok(Some(&moderator), "{ moderationQueue(first: 100) { id } }", json!({}))
        .await;
    let pending: BTreeSet<String> = data["moderationQueue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pending, submitted, "submissions are durable in the database");

    eprintln!("{backend:?}: redis seen down after {noticed:?}; slowest request while down {slowest:?}");
    assert!(slowest < BOUND, "a request waited {slowest:?} on a dead Redis");
    assert!(
        app.log().contains("redis unreachable"),
        "the fallback is logged:\n{}",
        app.log()
    );

    // Redis returns: Mati notices by itself, and the queue holds each comment once.
    assert!(redis.resume().await, "redis-server restarts");
    let (status, body, recovered) = wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok", "{body}");
    eprintln!("{backend:?}: recovered {recovered:?} after redis returned");
    let claimed = claim(&app, &moderator, 50).await;
    assert_eq!(claimed, submitted, "the queue holds every comment submitted, once");
    // The outbox relay (backing off while Redis was down) catches up: it adds nothing twice.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        let again = claim(&app, &other_moderator, 50).await;
        assert!(again.is_empty(), "items queued twice: {again:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

mod with_redis_stopped_the_server_keeps_serving_and_recovers_by_itself {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        keeps_serving_and_recovers(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        keeps_serving_and_recovers(Backend::Postgres).await;
    }
}

/// How long claimed items stay with a moderator in the test below: long enough for the
/// outage and the recovery to happen inside it.
const LEASE: Duration = Duration::from_secs(12);

async fn claims_from_the_database_while_redis_is_down(backend: Backend) {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let url = redis.url();
    let lease = LEASE.as_secs().to_string();
    let env = [
        ("MATI_REDIS_URL", url.as_str()),
        ("MATI_MODERATION_LEASE_SECS", lease.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "100/60s"),
    ];
    let Some(app) = TestApp::start_with(backend, &env).await else {
        return;
    };
    wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    let [a, b, c, d] = [
        app.staff("moderator", "mod-a", None).await,
        app.staff("moderator", "mod-b", None).await,
        app.staff("moderator", "mod-c", None).await,
        app.staff("moderator", "mod-d", None).await,
    ];
    let citizen = app.citizen().await;
    let mut all = BTreeSet::new();
    for n in 0..4 {
        let (comment, _) = submit_ok(&app, &citizen, n).await;
        all.insert(comment["id"].as_str().unwrap().to_owned());
    }
    // The relay moves submissions to Redis within moments.
    let leased_at = Instant::now();
    let mut of_a = BTreeSet::new();
    while of_a.len() < 2 {
        assert!(
            leased_at.elapsed() < Duration::from_secs(5),
            "nothing reached the queue"
        );
        of_a.extend(claim(&app, &a, 2 - i32::try_from(of_a.len()).unwrap()).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    redis.stop();
    wait_for_redis(&app, "unreachable", Duration::from_secs(3)).await;
    for n in 4..6 {
        let (comment, _) = submit_ok(&app, &citizen, n).await;
        all.insert(comment["id"].as_str().unwrap().to_owned());
    }
    // The database hands out what no one holds, A's items included.
    let of_b = claim(&app, &b, 3).await;
    assert_eq!(of_b.len(), 3, "claims work while Redis is down: {of_b:?}");
    let of_c = claim(&app, &c, 10).await;
    assert_eq!(of_c.len(), 1, "{of_c:?}");
    assert!(of_a.is_disjoint(&of_b) && of_a.is_disjoint(&of_c) && of_b.is_disjoint(&of_c));
    assert_eq!(&(&of_a | &of_b) | &of_c, all, "every comment, the new ones too");
    assert!(claim(&app, &d, 10).await.is_empty(), "nothing is leased twice");

    // Redis returns empty; the queue is rebuilt, and the leases taken meanwhile hold.
    assert!(redis.resume().await, "redis-server restarts");
    wait_for_redis(&app, "ok", Duration::from_secs(5)).await;
    for token in [&d, &a, &b, &c] {
        assert!(claim(&app, token, 10).await.is_empty(), "an item was leased twice");
    }
    assert!(
        leased_at.elapsed() < LEASE,
        "too slow to test a {LEASE:?} lease: {:?}",
        leased_at.elapsed()
    );
    let decided = of_b.first().unwrap().clone();
    assert_eq!(app.approve(&b, &decided).await["status"], "ROUTED");

    // Once the leases run out, every undecided item comes back, once.
    let expected: BTreeSet<String> = all.iter().filter(|id| **id != decided).cloned().collect();
    let mut again = BTreeSet::new();
    let deadline = Instant::now() + 3 * LEASE;
    while again != expected {
        assert!(
            Instant::now() < deadline,
            "items were lost: got back {again:?} of {expected:?}"
        );
        for id in claim(&app, &d, 10).await {
            assert!(again.insert(id.clone()), "{id} came back twice");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

mod with_redis_down_moderators_claim_from_the_database_and_nothing_is_leased_twice {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        claims_from_the_database_while_redis_is_down(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        claims_from_the_database_while_redis_is_down(Backend::Postgres).await;
    }
}
