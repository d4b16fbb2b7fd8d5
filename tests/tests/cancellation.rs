//! Phones on 2G drop connections mid-request all the time: a request dropped at any
//! point must leave nothing half-done and give its database connection back clean.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mati_tests::{Backend, SUBMIT, Submission, TestApp, run};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

/// Submissions sent at once, each abandoned after a random moment.
const SUBMISSIONS: usize = 600;
const CONCURRENCY: usize = 16;

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

/// A cheap pseudo-random number (the test needs spread, not quality).
fn jitter(seed: usize) -> u64 {
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// How long a submission takes on this machine right now, under the test's concurrency:
/// the median of a warm-up round that nobody cancels.
async fn typical_latency(app: &TestApp, citizen: &str) -> Duration {
    let mut rounds = Vec::new();
    for n in 0..CONCURRENCY * 2 {
        let (client, base, citizen) = (app.client.clone(), app.base.clone(), citizen.to_owned());
        rounds.push(tokio::spawn(async move {
            let comment = Submission::new("120101", "LOCAL_ROADS", format!("ផ្លូវខូចខាតធ្ងន់ធ្ងរ warm-up {n}"))
                .client_id(format!("warm-up-{n}"));
            let started = std::time::Instant::now();
            let response = client
                .post(format!("{base}/graphql"))
                .bearer_auth(citizen)
                .json(&json!({ "query": SUBMIT, "variables": comment.variables() }))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            started.elapsed()
        }));
    }
    let mut took = Vec::new();
    for round in rounds {
        took.push(round.await.unwrap());
    }
    took.sort();
    took[took.len() / 2]
}

/// Latencies of the submissions that completed lately: the patience of the next ones
/// follows the machine's speed as it is now, not as it was during the warm-up (other
/// suites share the cores and come and go).
struct Recent {
    latencies: std::sync::Mutex<std::collections::VecDeque<Duration>>,
}

impl Recent {
    const KEPT: usize = 32;

    fn new(typical: Duration) -> Self {
        Self {
            latencies: std::sync::Mutex::new(std::iter::repeat_n(typical, Self::KEPT).collect()),
        }
    }

    fn record(&self, took: Duration) {
        let mut latencies = self.latencies.lock().unwrap();
        latencies.pop_front();
        latencies.push_back(took);
    }

    fn median(&self) -> Duration {
        let mut sorted: Vec<_> = self.latencies.lock().unwrap().iter().copied().collect();
        sorted.sort();
        sorted[sorted.len() / 2]
    }
}

async fn cancelled_submissions_leave_nothing_half_done(app: TestApp) {
    let citizen = app.citizen().await;
    let typical = typical_latency(&app, &citizen).await;
    let recent = Arc::new(Recent::new(typical));
    let started = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..CONCURRENCY {
        let (base, citizen, recent) = (app.base.clone(), citizen.clone(), recent.clone());
        let (started, cancelled, completed) = (started.clone(), cancelled.clone(), completed.clone());
        workers.push(tokio::spawn(async move {
            // A client of its own per worker, so that a dropped request closes its socket.
            let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
            loop {
                let n = started.fetch_add(1, Ordering::SeqCst);
                // At least SUBMISSIONS, and on until enough were both cut off and let
                // through, whatever the load on the machine does to the timings.
                let enough = cancelled.load(Ordering::SeqCst) >= SUBMISSIONS / 5
                    && completed.load(Ordering::SeqCst) >= SUBMISSIONS / 5;
                if n >= SUBMISSIONS * 5 || (n >= SUBMISSIONS && enough) {
                    break;
                }
                let body = format!("ផ្លូវខូចខាតធ្ងន់ធ្ងរ លេខ {n} ({worker})");
                let comment = Submission::new("120101", "LOCAL_ROADS", body).client_id(format!("cancel-{n}"));
                let request = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&citizen)
                    .json(&json!({ "query": SUBMIT, "variables": comment.variables() }))
                    .send();
                // Every eighth request is a probe nobody cuts off: it measures how long a
                // submission takes now (the others would only sample the fast ones).
                if n % 8 == 0 {
                    let sent = std::time::Instant::now();
                    assert!(request.await.unwrap().status().is_success());
                    recent.record(sent.elapsed());
                    completed.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                // From nothing to twice the typical time: before, during and after each
                // statement of the submission's transaction.
                let window = u64::try_from(recent.median().as_micros() * 2).unwrap().max(1_000);
                let patience = Duration::from_micros(jitter(n) % window);
                if tokio::time::timeout(patience, request).await.is_ok() {
                    completed.fetch_add(1, Ordering::SeqCst);
                } else {
                    cancelled.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let (cancelled, completed) = (cancelled.load(Ordering::SeqCst), completed.load(Ordering::SeqCst));
    assert!(
        cancelled >= SUBMISSIONS / 5 && completed >= SUBMISSIONS / 5,
        "{cancelled} requests were cut off and {completed} completed (typical time at the start \
         {typical:?}, lately {:?}): the test did not test cancellation",
        recent.median()
    );
    // Work detached from the dropped requests finishes; the server settles.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let db = Database::connect(app.db.url())
        .await
        .expect("connect to the test database");
    let stored = count(&db, "SELECT count(*) FROM comments").await;
    assert!(stored > 0, "some submissions got through");
    let without_event = count(
        &db,
        "SELECT count(*) FROM comments c WHERE NOT EXISTS \
         (SELECT 1 FROM comment_events e WHERE e.comment_id = c.id AND e.kind = 'SUBMITTED')",
    )
    .await;
    assert_eq!(without_event, 0, "every stored comment has its SUBMITTED event");
    // Redis is unreachable, so the relay leaves every outbox row where it is.
    let without_outbox = count(
        &db,
        "SELECT count(*) FROM comments c WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.comment_id = c.id)",
    )
    .await;
    assert_eq!(without_outbox, 0, "every stored comment has its outbox row");
    let events = count(&db, "SELECT count(*) FROM comment_events WHERE kind = 'SUBMITTED'").await;
    assert_eq!(
        events, stored,
        "one SUBMITTED event per comment, none without its comment"
    );

    if app.backend() == Backend::Postgres {
        let open = count(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
        )
        .await;
        assert_eq!(open, 0, "no pooled connection sits idle inside a transaction");
    }
    // The connections serve the next requests normally.
    let comment = Submission::new("120101", "LOCAL_ROADS", "ផ្លូវខូចខាតធ្ងន់ធ្ងរណាស់").client_id("after-the-storm");
    let comment = app.submit(&citizen, &comment).await;
    assert!(comment["id"].is_string());
    let log = app.log();
    for symptom in [
        "transaction in progress",
        "cannot start a transaction within a transaction",
        "cannot rollback - no transaction is active",
        "panicked",
    ] {
        assert!(!log.contains(symptom), "the server logged {symptom:?}:\n{log}");
    }
}

async fn cancellation(backend: Backend) {
    // A port nothing listens on: Redis stays unreachable, so outbox rows stay put.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redis = format!("redis://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let env = [
        ("MATI_REDIS_URL", redis.as_str()),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "1000000/1s"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "1000000/1s"),
        ("MATI_DATABASE_MAX_CONNECTIONS", "4"),
    ];
    if let Some(app) = TestApp::start_with(backend, &env).await {
        cancelled_submissions_leave_nothing_half_done(app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_cancelled_at_random_moments_leave_nothing_half_done_on_postgres() {
    cancellation(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_cancelled_at_random_moments_leave_nothing_half_done_on_sqlite() {
    cancellation(Backend::Sqlite).await;
}

async fn a_rate_limit_redis_cannot_count_is_refused_at_start(app: TestApp) {
    let mut command = app.command();
    command
        .env("MATI_LISTEN", "127.0.0.1:0")
        .env("MATI_RATE_LIMIT_TRACK_PER_ADDRESS", "100000000/1s");
    let output = tokio::time::timeout(Duration::from_secs(30), run(command))
        .await
        .expect("the server refuses to start rather than serving");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("MATI_RATE_LIMIT_TRACK_PER_ADDRESS") && stderr.contains("microsecond"),
        "the refusal names the setting and why: {stderr}"
    );
}

#[tokio::test]
async fn a_rate_limit_that_redis_cannot_count_is_refused_at_start() {
    if let Some(app) = TestApp::start(Backend::Sqlite).await {
        a_rate_limit_redis_cannot_count_is_refused_at_start(app).await;
    }
}
