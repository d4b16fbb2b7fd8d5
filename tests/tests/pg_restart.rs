//! A fast restart of PostgreSQL under load (PRODUCT.md §7, §9): requests either succeed
//! or fail with SERVICE_UNAVAILABLE (never driver text), none waits long for the pool,
//! the pool recovers by itself, and every comment given a tracking code exists exactly
//! once with its SUBMITTED event.
//!
//! It restarts this machine's PostgreSQL, so it is the only test in its binary and runs
//! only with `MATI_TEST_RESTART_POSTGRES=1` (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use mati_tests::{Backend, Submission, TestApp};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// Only what the submission itself answers: related data (events, responses, the
/// category) comes from loaders, whose reads a restart may fail on their own, and this
/// test is about the submission.
const SUBMIT: &str = "mutation($input: SubmitCommentInput!) {
    submitComment(input: $input) { comment { id trackingCode } }
}";

/// How long the load runs, and when PostgreSQL restarts within it.
const LOAD: Duration = Duration::from_secs(6);
const RESTART_AFTER: Duration = Duration::from_millis(1500);

/// Longest acceptable answer: the pool waits a few seconds, not sqlx's default 30.
const SLOWEST: Duration = Duration::from_secs(8);

/// Words that would betray driver or pool text in a response.
const LEAKS: [&str; 7] = [
    "SQLSTATE",
    "sqlx",
    "Connection refused",
    "terminating connection",
    "pool",
    "PoolTimedOut",
    "error returned from database",
];

/// One submission as the client saw it.
struct Attempt {
    started: Instant,
    took: Duration,
    text: String,
    tracking_code: Option<String>,
    codes: Vec<String>,
}

/// Submits with `token` and a fresh clientId until `until`.
async fn load(app: &TestApp, client: &reqwest::Client, token: &str, worker: usize, until: Instant) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let body = format!("Worker {worker} reports pothole number {n} on our road");
        let comment = Submission::new("120101", "LOCAL_ROADS", body).client_id(format!("restart-{worker}-{n}"));
        let started = Instant::now();
        let response = client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(token)
            .json(&json!({ "query": SUBMIT, "variables": comment.variables() }))
            .send()
            .await;
        let text = match response {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(err) => format!("<no answer: {err}>"),
        };
        let took = started.elapsed();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let tracking_code = body["data"]["submitComment"]["comment"]["trackingCode"]
            .as_str()
            .map(str::to_owned);
        let codes = body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        attempts.push(Attempt {
            started,
            took,
            text,
            tracking_code,
            codes,
        });
        if attempts.last().is_some_and(|a| a.tracking_code.is_none()) {
            // A phone backs off a little before retrying.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    attempts
}

/// `pg_ctlcluster --skip-systemctl-redirect VERSION main restart -m fast`, where VERSION is
/// the one cluster version under /etc/postgresql; when it finished.
async fn restart_postgres() -> Instant {
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql (a Debian PostgreSQL cluster)")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let [version] = versions.as_slice() else {
        panic!("expected one PostgreSQL version under /etc/postgresql, found {versions:?}");
    };
    let output = tokio::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"])
        .output()
        .await
        .expect("run pg_ctlcluster");
    assert!(
        output.status.success(),
        "restarting PostgreSQL failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Instant::now()
}

/// Waits until `/readyz` reports the database reachable again.
async fn wait_until_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = async {
            let response = app.client.get(format!("{}/readyz", app.base)).send().await.ok()?;
            let body: Value = response.json().await.ok()?;
            (body["database"] == "ok").then_some(())
        };
        if ready.await.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the database never came back:\n{}",
            app.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// When the PostgreSQL server last started.
async fn postmaster_started(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    let db = Database::connect(app.db.url()).await.unwrap();
    let sql = "SELECT pg_postmaster_start_time() AS started";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .expect("a row");
    let _ = db.close().await;
    row.try_get("", "started").unwrap()
}

/// The server's warnings and errors.
fn warnings(app: &TestApp) -> String {
    app.log()
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each stored comment's tracking code, with its number of SUBMITTED events.
async fn stored(app: &TestApp) -> Vec<(String, i64)> {
    let db = Database::connect(app.db.url()).await.unwrap();
    let sql = "SELECT c.tracking_code AS code, \
               (SELECT COUNT(*) FROM comment_events e WHERE e.comment_id = c.id AND e.kind = 'SUBMITTED') AS submitted \
               FROM comments c";
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    let _ = db.close().await;
    rows.iter()
        .map(|row| (row.try_get("", "code").unwrap(), row.try_get("", "submitted").unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fast_postgres_restart_under_load_loses_and_duplicates_nothing() {
    if std::env::var("MATI_TEST_RESTART_POSTGRES").as_deref() != Ok("1") {
        eprintln!("skipped: set MATI_TEST_RESTART_POSTGRES=1");
        return;
    }
    let env = [
        ("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "100000/60s"),
        ("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "100000/60s"),
    ];
    let Some(app) = TestApp::start_with(Backend::Postgres, &env).await else {
        return;
    };
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(app.citizen().await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let before = postmaster_started(&app).await;
    let until = Instant::now() + LOAD;
    let workers = join_all(
        tokens
            .iter()
            .enumerate()
            .map(|(worker, token)| load(&app, &client, token, worker, until)),
    );
    let restart = async {
        tokio::time::sleep(RESTART_AFTER).await;
        restart_postgres().await
    };
    let (attempts, restarted) = tokio::join!(workers, restart);
    let attempts: Vec<Attempt> = attempts.into_iter().flatten().collect();

    let mut internal = Vec::new();
    for attempt in &attempts {
        for leak in LEAKS {
            assert!(
                !attempt.text.to_lowercase().contains(&leak.to_lowercase()),
                "{leak:?} leaked in {}",
                attempt.text
            );
        }
        assert!(
            attempt.took < SLOWEST,
            "a request took {:?} (pool waits must be bounded): {}",
            attempt.took,
            attempt.text
        );
        match (&attempt.tracking_code, attempt.codes.as_slice()) {
            (Some(_), []) => {}
            (None, codes) if !codes.is_empty() && codes.iter().all(|c| c == "SERVICE_UNAVAILABLE") => {}
            (None, codes) if codes.iter().any(|c| c == "INTERNAL") => internal.push(attempt.text.clone()),
            _ => panic!("neither a tracking code nor SERVICE_UNAVAILABLE: {}", attempt.text),
        }
    }
    let failed = attempts.iter().filter(|a| a.tracking_code.is_none()).count();
    let recovered = attempts
        .iter()
        .filter(|a| a.started > restarted && a.tracking_code.is_some())
        .count();
    eprintln!(
        "{} submissions, {failed} refused ({} as INTERNAL), {recovered} accepted after the restart; slowest {:?}",
        attempts.len(),
        internal.len(),
        attempts.iter().map(|a| a.took).max().unwrap_or_default()
    );
    assert!(postmaster_started(&app).await > before, "PostgreSQL did not restart");
    assert!(
        attempts
            .iter()
            .any(|a| a.started < restarted && a.started + a.took > restarted - Duration::from_millis(500)),
        "no request was in flight while PostgreSQL restarted"
    );
    assert!(
        recovered > 0,
        "nothing succeeded after the restart:\n{}",
        warnings(&app)
    );

    wait_until_ready(&app).await;
    for token in &tokens {
        let body = "After the restart: the road is still broken";
        app.submit_comment(token, "120101", "LOCAL_ROADS", body).await;
    }

    // Every tracking code given to a client is stored once, with its first event; and
    // no comment is stored without its SUBMITTED event.
    let stored = stored(&app).await;
    let mut by_code: HashMap<&str, Vec<i64>> = HashMap::new();
    for (code, submitted) in &stored {
        by_code.entry(code.as_str()).or_default().push(*submitted);
        assert_eq!(*submitted, 1, "comment {code} has {submitted} SUBMITTED events");
    }
    for code in attempts.iter().filter_map(|a| a.tracking_code.as_deref()) {
        assert_eq!(
            by_code.get(code).map(Vec::len),
            Some(1),
            "tracking code {code} is stored {:?} times",
            by_code.get(code).map(Vec::len)
        );
    }
    // Checked last, so that a failure here means everything else held.
    assert!(
        internal.is_empty(),
        "{} of {} requests failed as INTERNAL instead of SERVICE_UNAVAILABLE, e.g. {}\nserver log:\n{}",
        internal.len(),
        attempts.len(),
        internal[0],
        warnings(&app)
    );
}
