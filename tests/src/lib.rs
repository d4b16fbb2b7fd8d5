//! `TestApp`: starts the real `mati` binary on port 0 against an isolated database (a
//! fresh SQLite file, or a fresh PostgreSQL database) and speaks HTTP to it.
//!
//! PostgreSQL comes from `MATI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the test is
//! skipped with a message, unless `MATI_REQUIRE_BACKENDS=1`, when it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test support: a failure is a test failure"
)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both_backends!(name, body_fn);` makes
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::TestApp::start($crate::Backend::Sqlite).await {
                    $body(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::start($crate::Backend::Postgres).await {
                    $body(app).await;
                }
            }
        }
    };
}

/// Whether missing backends fail tests instead of skipping them.
pub fn backends_required() -> bool {
    std::env::var("MATI_REQUIRE_BACKENDS").is_ok_and(|v| v == "1")
}

/// The server URL of the PostgreSQL used by tests.
pub fn postgres_url() -> String {
    std::env::var("MATI_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The `mati` binary built by this workspace.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MATI_BIN").filter(|p| !p.is_empty()) {
        return path.into();
    }
    // Test executables live in target/<profile>/deps; the binary one level up.
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let binary = dir.join(format!("mati{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        binary.display()
    );
    binary
}

/// An isolated database.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        name: String,
        url: String,
    },
    /// Another replica's database: used, never dropped.
    Shared {
        url: String,
        backend: Backend,
    },
}

impl TestDb {
    /// A fresh database, or `None` (skip) when PostgreSQL is unreachable and not required.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("mati.db").display());
                Some(Self::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let server = postgres_url();
                let admin = match Database::connect(&server).await {
                    Ok(conn) => conn,
                    Err(err) => {
                        assert!(
                            !backends_required(),
                            "PostgreSQL at {server} is required but unreachable: {err}"
                        );
                        eprintln!("skipped: PostgreSQL at {server} is unreachable ({err})");
                        return None;
                    }
                };
                let name = format!("mati_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
                let url = format!("{base}/{name}");
                Some(Self::Postgres { name, url })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } | Self::Shared { url, .. } => url,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
            Self::Shared { backend, .. } => *backend,
        }
    }

    /// A working directory for files beside the database.
    pub fn scratch(&self) -> PathBuf {
        match self {
            Self::Sqlite { dir, .. } => dir.path().to_owned(),
            Self::Postgres { .. } | Self::Shared { .. } => std::env::temp_dir(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { name, .. } = self {
            let name = name.clone();
            // Drop runs outside async; a short-lived thread with its own runtime cleans up.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let admin = Database::connect(&postgres_url()).await.ok()?;
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok()?;
                    admin.close().await.ok()
                })
            })
            .join();
        }
    }
}

/// A running `mati` server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    child: Child,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
    pub db: TestDb,
}

impl TestApp {
    /// Starts `mati` on a fresh database of `backend`; `None` when the backend is
    /// unreachable and not required.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, &[]).await
    }

    /// Starts `mati` with extra `MATI_…` settings.
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> Option<Self> {
        let db = TestDb::create(backend).await?;
        Some(Self::start_on(db, env).await)
    }

    /// Starts `mati` on an existing test database.
    pub async fn start_on(db: TestDb, env: &[(&str, &str)]) -> Self {
        let log_dir = tempfile::tempdir().expect("log directory");
        let log = log_dir.path().join("mati.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(binary());
        command
            .env("MATI_DATABASE_URL", db.url())
            .env("MATI_LISTEN", "127.0.0.1:0")
            .env("MATI_LOG", "info,sqlx=warn")
            // Tests change comments and read statistics at once: no answer is reused
            // (tests of the cache set their own lifetime).
            .env("MATI_STATS_CACHE_SECS", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start mati");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let wait = async {
            while let Some(line) = lines.next_line().await.ok().flatten() {
                if let Some(base) = line.strip_prefix("listening on ") {
                    return Some(base.to_owned());
                }
            }
            None
        };
        let base = tokio::time::timeout(Duration::from_secs(60), wait).await.ok().flatten();
        let Some(base) = base else {
            let _ = child.kill().await;
            panic!(
                "mati did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            base,
            client: reqwest::Client::new(),
            child,
            log,
            _log_dir: log_dir,
            db,
        }
    }

    /// Another `mati` process on the same database, with its own settings (a replica).
    pub async fn replica(&self, env: &[(&str, &str)]) -> Self {
        let shared = TestDb::Shared {
            url: self.db.url().to_owned(),
            backend: self.db.backend(),
        };
        Self::start_on(shared, env).await
    }

    /// Stops the server and gives back its database.
    pub async fn stop(mut self) -> TestDb {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        std::mem::replace(
            &mut self.db,
            TestDb::Sqlite {
                dir: tempfile::tempdir().expect("placeholder"),
                url: String::new(),
            },
        )
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Posts a GraphQL operation; the full JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        response.json().await.expect("JSON response")
    }

    /// `GET` of a path of the server (e.g. `/exports/stats.csv?unitCode=12`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// `GET` of a path of the server; the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    /// Posts and returns `data`, failing the test on any error.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.graphql(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}\nserver log:\n{}",
            self.log()
        );
        response["data"].clone()
    }

    /// Posts and returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let response = self.graphql(token, query, variables).await;
        first_error(&response)["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {response:#}"))
            .to_owned()
    }

    /// A `mati` command line with this server's settings.
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary());
        command
            .env("MATI_DATABASE_URL", self.db.url())
            .env("MATI_LOG", "warn")
            .kill_on_drop(true);
        command
    }

    /// Creates a staff account through `mati staff add`; its password.
    pub async fn add_staff(&self, role: &str, username: &str, unit: Option<&str>) -> String {
        let password = format!("pw-{username}-{}", uuid::Uuid::new_v4().simple());
        let mut command = self.command();
        command.args(["staff", "add", "--role", role, "--username", username]);
        if let Some(unit) = unit {
            command.args(["--unit", unit]);
        }
        let output = run_with_stdin(command, &format!("{password}\n")).await;
        assert!(
            output.status.success(),
            "staff add failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        password
    }

    /// Logs in; the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        data["login"]["token"].as_str().expect("token").to_owned()
    }

    /// A staff member with a role (and unit), logged in; the token.
    pub async fn staff(&self, role: &str, username: &str, unit: Option<&str>) -> String {
        let password = self.add_staff(role, username, unit).await;
        self.login(username, &password).await
    }

    /// A fresh citizen session; the token.
    pub async fn citizen(&self) -> String {
        let data = self
            .ok(None, "mutation { startCitizenSession { token } }", json!({}))
            .await;
        data["startCitizenSession"]["token"].as_str().expect("token").to_owned()
    }

    /// SQL statements the server has run so far (from `/metrics`).
    pub async fn statements(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix("mati_db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("mati_db_statements_total in /metrics")
    }
}

/// The first error of a GraphQL response.
pub fn first_error(response: &Value) -> &Value {
    &response["errors"][0]
}

/// Runs a command, writing `input` to its standard input.
pub async fn run_with_stdin(mut command: Command, input: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start mati command");
    if let Some(mut stdin) = child.stdin.take() {
        // A command that fails on its arguments exits before reading: ignore the broken pipe.
        let _ = stdin.write_all(input.as_bytes()).await;
    }
    child.wait_with_output().await.expect("command output")
}

/// Runs a command to completion.
pub async fn run(mut command: Command) -> std::process::Output {
    command.stdin(Stdio::null());
    command.output().await.expect("run mati command")
}

/// The Redis used by tests: `MATI_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).
pub fn redis_url() -> String {
    std::env::var("MATI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of its own on the shared Redis, so tests never see each other's keys;
/// `None` (skip) when Redis is unreachable and not required.
pub async fn redis_prefix() -> Option<String> {
    let url = redis_url();
    let reachable = async {
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
    };
    if tokio::time::timeout(Duration::from_secs(2), reachable)
        .await
        .ok()
        .flatten()
        .is_none()
    {
        assert!(!backends_required(), "Redis at {url} is required but unreachable");
        eprintln!("skipped: Redis at {url} is unreachable");
        return None;
    }
    Some(format!("mati_test_{}", uuid::Uuid::new_v4().simple()))
}

/// A Redis server of one test's own, on a free port, that the test may stop, flush and
/// start again without disturbing other tests. Keeps nothing on disk.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    /// Starts one; `None` (skip) when `redis-server` is not installed and not required.
    pub async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut redis = Self { port, child: None };
        if !redis.resume().await {
            assert!(
                !backends_required(),
                "redis-server is required but could not be started"
            );
            eprintln!("skipped: redis-server could not be started");
            return None;
        }
        Some(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (as a crash would: nothing is kept).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port; whether it answers.
    pub async fn resume(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        for _ in 0..50 {
            if self.ping().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Whether it answers.
    pub async fn ping(&self) -> bool {
        let attempt = async {
            let client = redis::Client::open(self.url()).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
        };
        tokio::time::timeout(Duration::from_secs(1), attempt)
            .await
            .ok()
            .flatten()
            .is_some()
    }

    /// Runs FLUSHALL.
    pub async fn flush_all(&self) {
        let client = redis::Client::open(self.url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection");
        redis::cmd("FLUSHALL")
            .query_async::<String>(&mut conn)
            .await
            .expect("FLUSHALL");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
