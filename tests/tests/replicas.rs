//! `deploy/local/mati-local`: replicas of the real binary behind HAProxy on this machine,
//! on PostgreSQL and Redis, started together on an empty database, restarted one by one
//! and killed, under a steady load of submissions and reads through the balancer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "tests")]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use mati_tests::{Backend, SUBMIT, Submission, TestDb, backends_required, binary, redis_prefix, redis_url};
use sea_orm::sqlx::{Connection, PgConnection};
use serde_json::{Value, json};
use tokio::process::Command;

/// The key of the schema lock (infra's `SchemaLock`): "mati" and "schema" in ASCII.
const SCHEMA_LOCK_KEY: i64 = 0x6d61_7469_7363_6865;
const REPLICAS: usize = 3;

/// A `mati-local` topology on a fresh PostgreSQL database; brought down when dropped.
struct Local {
    dir: tempfile::TempDir,
    port: u16,
    db: TestDb,
    redis_prefix: String,
    client: reqwest::Client,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/local/mati-local")
}

/// A port P with P+1..=P+REPLICAS and P+100 free as well.
fn free_ports() -> u16 {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    (0..200)
        .map(|_| 20_000 + (uuid::Uuid::new_v4().as_u128() % 20_000) as u16)
        .find(|&p| (0..=REPLICAS as u16).all(|i| free(p + i)) && free(p + 100))
        .expect("free ports")
}

impl Local {
    /// A topology not yet up; `None` (skipped) when PostgreSQL, Redis or HAProxy is
    /// missing and backends are not required.
    async fn new() -> Option<Self> {
        if std::process::Command::new("haproxy").arg("-v").output().is_err() {
            assert!(!backends_required(), "haproxy is required (Debian package haproxy)");
            eprintln!("skipped: haproxy is not installed");
            return None;
        }
        let redis_prefix = redis_prefix().await?;
        let db = TestDb::create(Backend::Postgres).await?;
        Some(Self {
            dir: tempfile::tempdir().expect("state directory"),
            port: free_ports(),
            db,
            redis_prefix,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(script());
        command
            .args(args)
            .env("MATI_LOCAL_DIR", self.dir.path())
            .env("MATI_LOCAL_PORT", self.port.to_string())
            .env("MATI_LOCAL_REPLICAS", REPLICAS.to_string())
            .env("MATI_BIN", binary())
            .env("MATI_DATABASE_URL", self.db.url())
            .env("MATI_REDIS_URL", redis_url())
            .env("MATI_REDIS_PREFIX", &self.redis_prefix)
            .env("MATI_DATABASE_MAX_CONNECTIONS", "6")
            .env("MATI_STATS_CACHE_SECS", "0")
            // The load comes from one address and a few sessions.
            .env("MATI_RATE_LIMIT_SUBMIT_PER_TOKEN", "100000/1s")
            .env("MATI_RATE_LIMIT_SUBMIT_PER_ADDRESS", "100000/1s")
            .env("MATI_RATE_LIMIT_START_SESSION_PER_ADDRESS", "100000/1s")
            .env("MATI_RATE_LIMIT_TRACK_PER_ADDRESS", "100000/1s")
            .env("MATI_RATE_LIMIT_STATS_PER_ADDRESS", "100000/1s")
            .kill_on_drop(true);
        command
    }

    /// Runs `mati-local ARGS`, failing the test (with the replicas' logs) when it fails.
    async fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().await.expect("run mati-local");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "mati-local {args:?} failed:\n{stdout}{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.logs()
        );
        stdout
    }

    fn log(&self, replica: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("replica-{replica}.log"))).unwrap_or_default()
    }

    fn logs(&self) -> String {
        (1..=REPLICAS)
            .map(|i| format!("--- replica {i}\n{}", self.log(i)))
            .collect()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A GraphQL request through the balancer: its data, or what went wrong.
    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value, String> {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base()))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| format!("transport: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| format!("{status}: body: {e}"))?;
        if status.is_success() && body.get("errors").is_none() {
            Ok(body["data"].clone())
        } else {
            Err(format!("{status}: {body}"))
        }
    }

    async fn citizen(&self) -> String {
        let data = self
            .graphql(None, "mutation { startCitizenSession { token } }", json!({}))
            .await
            .expect("session");
        data["startCitizenSession"]["token"].as_str().expect("token").to_owned()
    }

    /// Every tracking code in a citizen's `myComments`, page by page.
    async fn my_tracking_codes(&self, token: &str) -> Vec<String> {
        let query = "query($after: String) { myComments(first: 100, after: $after) { \
                     edges { node { trackingCode } } pageInfo { hasNextPage endCursor } } }";
        let (mut codes, mut after) = (Vec::new(), Value::Null);
        loop {
            let data = self
                .graphql(Some(token), query, json!({ "after": after }))
                .await
                .expect("myComments");
            let page = &data["myComments"];
            codes.extend(
                page["edges"]
                    .as_array()
                    .expect("edges")
                    .iter()
                    .map(|e| e["node"]["trackingCode"].as_str().expect("code").to_owned()),
            );
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                return codes;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script())
            .arg("down")
            .env("MATI_LOCAL_DIR", self.dir.path())
            .env("MATI_LOCAL_PORT", self.port.to_string())
            .env("MATI_LOCAL_REPLICAS", REPLICAS.to_string())
            .output();
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
struct Seen {
    /// Tracking codes acknowledged to each citizen, by citizen token.
    acknowledged: HashMap<String, Vec<String>>,
    /// Requests that failed (each retried until it succeeded).
    failures: Vec<String>,
    reads: usize,
}

/// Citizens submitting and reading through the balancer until `stop`; a failed
/// submission is retried with the same `clientId`, as a phone does, until acknowledged.
async fn load(local: Arc<Local>, stop: Arc<AtomicBool>) -> Seen {
    let mut tasks = Vec::new();
    for citizen in 0..4 {
        let (local, stop) = (Arc::clone(&local), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let token = local.citizen().await;
            let (mut codes, mut failures, mut reads) = (Vec::new(), Vec::new(), 0);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let submission = Submission::new("120101", "LOCAL_ROADS", format!("Road {n} of citizen {citizen}"))
                    .client_id(format!("load-{citizen}-{n}"));
                let code = loop {
                    match local.graphql(Some(&token), SUBMIT, submission.variables()).await {
                        Ok(data) => {
                            break data["submitComment"]["comment"]["trackingCode"]
                                .as_str()
                                .expect("tracking code")
                                .to_owned();
                        }
                        Err(err) => {
                            failures.push(format!("submit: {err}"));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                };
                let read = local
                    .graphql(
                        None,
                        "query($code: String!) { commentByTrackingCode(trackingCode: $code) { status } }",
                        json!({ "code": code }),
                    )
                    .await;
                match read {
                    Ok(_) => reads += 1,
                    Err(err) => failures.push(format!("read: {err}")),
                }
                codes.push(code);
            }
            (token, codes, failures, reads)
        }));
    }
    let mut seen = Seen::default();
    for task in tasks {
        let (token, codes, failures, reads) = task.await.expect("load task");
        seen.acknowledged.insert(token, codes);
        seen.failures.extend(failures);
        seen.reads += reads;
    }
    seen
}

/// Runs `during` while the load runs (a little before and after too); what the load saw.
async fn under_load<F: Future<Output = ()>>(local: &Arc<Local>, during: F) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(load(Arc::clone(local), Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    during.await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    running.await.expect("load")
}

/// Every acknowledged submission is in its citizen's comments exactly once, and nothing
/// else is.
async fn assert_each_present_once(local: &Local, seen: &Seen) {
    let mut total = 0;
    for (token, acknowledged) in &seen.acknowledged {
        let listed = local.my_tracking_codes(token).await;
        let distinct: HashSet<&String> = listed.iter().collect();
        assert_eq!(distinct.len(), listed.len(), "a comment listed twice: {listed:?}");
        let expected: HashSet<&String> = acknowledged.iter().collect();
        assert_eq!(
            expected.len(),
            acknowledged.len(),
            "one tracking code acknowledged for two submissions"
        );
        assert_eq!(distinct, expected, "stored comments differ from those acknowledged");
        total += listed.len();
    }
    assert!(total > 20, "the load submitted too little to prove anything: {total}");
}

#[tokio::test]
async fn replicas_started_together_on_an_empty_database_migrate_it_once_under_the_lock() {
    let Some(local) = Local::new().await else { return };
    // The test holds the schema lock: no replica may migrate, so none becomes ready.
    let mut holder = PgConnection::connect(local.db.url()).await.expect("connect");
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(SCHEMA_LOCK_KEY)
        .execute(&mut holder)
        .await
        .expect("take the lock");
    let mut up = local.command(&["up"]).spawn().expect("mati-local up");
    let waiting = |log: &str| log.contains("another process is migrating the database");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(1..=REPLICAS).all(|i| waiting(&local.log(i))) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replicas did not wait:\n{}",
            local.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tables: i64 =
        sea_orm::sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(&mut holder)
            .await
            .expect("count tables");
    assert_eq!(tables, 0, "a replica migrated without the lock");
    assert!(
        up.try_wait().expect("up").is_none(),
        "up finished while the lock was held"
    );

    holder.close().await.expect("release the lock");
    let status = tokio::time::timeout(Duration::from_secs(90), up.wait())
        .await
        .expect("up within 90 s")
        .expect("up");
    assert!(status.success(), "mati-local up failed:\n{}", local.logs());
    let migrated: Vec<usize> = (1..=REPLICAS)
        .filter(|&i| local.log(i).contains("\"migrations applied\""))
        .collect();
    assert_eq!(
        migrated.len(),
        1,
        "migrations applied by replicas {migrated:?}:\n{}",
        local.logs()
    );
    // Everyone serves the migrated, seeded database through the balancer.
    let categories = local
        .graphql(None, "{ categories { code } }", json!({}))
        .await
        .expect("categories");
    assert!(categories["categories"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn a_rolling_restart_under_load_fails_no_request_and_loses_no_submission() {
    let Some(local) = Local::new().await else { return };
    local.run(&["up"]).await;
    let local = Arc::new(local);
    let seen = under_load(&local, async {
        local.run(&["restart"]).await;
    })
    .await;
    assert!(
        seen.failures.is_empty(),
        "{} requests failed: {:?}",
        seen.failures.len(),
        seen.failures
    );
    assert!(seen.reads > 20, "too few reads: {}", seen.reads);
    for replica in 1..=REPLICAS {
        let log = local.log(replica);
        assert!(log.contains("draining"), "replica {replica} did not drain:\n{log}");
        assert_eq!(
            log.matches("\"stopped\"").count(),
            1,
            "replica {replica} did not stop cleanly:\n{log}"
        );
    }
    assert_each_present_once(&local, &seen).await;
}

#[tokio::test]
async fn a_replica_killed_under_load_is_routed_around_and_no_acknowledged_submission_is_lost() {
    let Some(local) = Local::new().await else { return };
    local.run(&["up"]).await;
    let local = Arc::new(local);
    let served_after_kill = Arc::new(AtomicUsize::new(0));
    let seen = under_load(&local, async {
        local.run(&["kill", "2"]).await;
        // The two others carry the load meanwhile, before replica 2 returns.
        let before = served(&local).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        served_after_kill.store(served(&local).await - before, Ordering::SeqCst);
        local.run(&["start", "2"]).await;
    })
    .await;
    assert!(
        served_after_kill.load(Ordering::SeqCst) > 10,
        "the balancer did not route around the dead replica"
    );
    // Requests in flight on the killed replica may fail (a phone retries them with the
    // same clientId); the balancer takes it out quickly, so only a handful do.
    assert!(
        seen.failures.len() < 20,
        "{} requests failed: {:?}",
        seen.failures.len(),
        seen.failures
    );
    assert_each_present_once(&local, &seen).await;
}

/// Requests HAProxy's backend has answered so far (from its stats CSV).
async fn served(local: &Local) -> usize {
    let csv = local
        .client
        .get(format!("http://127.0.0.1:{}/stats;csv", local.port + 100))
        .send()
        .await
        .expect("stats")
        .text()
        .await
        .expect("stats text");
    csv.lines()
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&"mati") && cols.get(1) == Some(&"BACKEND"))
        .and_then(|cols| cols.get(7).and_then(|total| total.parse().ok()))
        .expect("backend sessions in the stats")
}
