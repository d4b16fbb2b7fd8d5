//! SIGTERM under load: the server drains (`/readyz` 503 while it still serves), stops
//! accepting, answers every request it accepted, closes WebSockets with 1001, relays
//! the outbox to the moderation queue, and exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mati_tests::socket::{accepted, receive};
use mati_tests::{Backend, SUBMIT, Submission, TestApp, redis_prefix, redis_url};
use sea_orm::sqlx::{Connection, PgConnection};
use serde_json::{Value, json};

/// What one submitter saw: submissions answered; connections refused or reset before any
/// answer (when each happened); and answers that were errors or broken off.
#[derive(Default)]
struct Outcome {
    answered: usize,
    unanswered: Vec<Instant>,
    broken: Vec<String>,
}

async fn submitter(base: String, token: String, stop: Arc<AtomicBool>, citizen: usize) -> Outcome {
    // A fresh connection per request, as many phones do: each either reaches the server
    // (and must be answered) or is refused once the listener has closed.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut outcome = Outcome::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let submission = Submission::new("120101", "LOCAL_ROADS", format!("Drain test {n} of {citizen}"))
            .client_id(format!("drain-{citizen}-{n}"));
        let sent = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": SUBMIT, "variables": submission.variables() }))
            .send()
            .await;
        match sent {
            // No answer at all: refused once the listener closed, or reset while still
            // waiting in the kernel's accept queue when it did. Whether the server ever
            // ran such a request is checked against the database below.
            Err(_) => {
                outcome.unanswered.push(Instant::now());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(response) => {
                let status = response.status();
                match response.json::<Value>().await {
                    Ok(body) if status.is_success() && body.get("errors").is_none() => outcome.answered += 1,
                    Ok(body) => outcome.broken.push(format!("{status}: {body}")),
                    Err(err) => outcome.broken.push(format!("{status}: unreadable body: {err}")),
                }
            }
        }
    }
    outcome
}

/// `MATI_SHUTDOWN_DRAIN_SECS` of the test.
const DRAIN: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_answers_what_it_accepted_closes_sockets_and_exits_zero() {
    let Some(prefix) = redis_prefix().await else { return };
    let redis = redis_url();
    let env = [
        ("MATI_REDIS_URL", redis.as_str()),
        ("MATI_REDIS_PREFIX", prefix.as_str()),
        ("MATI_SHUTDOWN_DRAIN_SECS", "2"),
        ("MATI_SHUTDOWN_TIMEOUT_SECS", "20"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "100000/1s"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "100000/1s"),
    ];
    let Some(mut app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let official = app.staff("official", "commune120101", Some("120101")).await;
    let mut socket = accepted(&app, &official).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for citizen in 0..4 {
        let token = app.citizen().await;
        load.push(tokio::spawn(submitter(
            app.base.clone(),
            token,
            Arc::clone(&stop),
            citizen,
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let terminated = Instant::now();
    app.terminate();
    // Draining: not ready, and still serving.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let readyz = loop {
        let response = app.get("/readyz").await;
        if response.status() == 503 {
            break response.json::<Value>().await.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still 200 after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(readyz, json!({ "status": "draining" }));
    let during = app.get("/healthz").await;
    assert_eq!(during.status(), 200, "a draining server still serves");

    let closed = receive(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(
        closed,
        Some(json!({ "type": "close", "code": 1001 })),
        "the socket's goodbye"
    );
    let status = app.exited(Duration::from_secs(25)).await;
    assert!(status.success(), "exit status {status:?}:\n{}", app.log());
    stop.store(true, Ordering::SeqCst);

    let (mut answered, mut unanswered, mut broken) = (0, Vec::new(), Vec::new());
    for task in load {
        let outcome = task.await.unwrap();
        answered += outcome.answered;
        unanswered.extend(outcome.unanswered);
        broken.extend(outcome.broken);
    }
    assert!(
        broken.is_empty(),
        "{} answers were errors or broken off: {broken:?}",
        broken.len()
    );
    assert!(answered > 20, "too little load to prove anything: {answered}");
    assert!(!unanswered.is_empty(), "the listener never closed");
    let first = unanswered.iter().min().unwrap().duration_since(terminated);
    assert!(
        first >= DRAIN,
        "a request went unanswered {first:?} after SIGTERM, within the drain"
    );

    // Background work finished: every submission's outbox row reached the queue.
    let mut db = PgConnection::connect(app.db.url()).await.unwrap();
    let left: i64 = sea_orm::sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left, 0, "the outbox was not relayed before the exit");
    let submitted: i64 = sea_orm::sqlx::query_scalar("SELECT count(*) FROM comments")
        .fetch_one(&mut db)
        .await
        .unwrap();
    // Every answered submission is stored once, and none that went unanswered was run.
    assert_eq!(usize::try_from(submitted).unwrap(), answered);
    let log = app.log();
    assert!(log.contains("draining") && log.contains("stopped"), "{log}");
}
