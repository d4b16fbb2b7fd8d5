//! Redis for tests: a key prefix of one's own on the shared server, or a private
//! `redis-server` that a test may stop, flush and start again.

use std::process::Stdio;
use std::time::Duration;

use crate::backend::backends_required;

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

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A Redis server of one test's own, on a free port, that the test may stop, flush and
/// start again without disturbing other tests. Keeps nothing on disk (a replica's copy
/// of its master's data goes to a directory of its own, removed with it).
pub struct PrivateRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    /// Arguments beyond the port and no persistence (e.g. `--replicaof`).
    extra: Vec<String>,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    /// Starts one; `None` (skip) when `redis-server` is not installed and not required.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// Starts a replica of `master`, as [`PrivateRedis::start`] does.
    pub async fn replica_of(master: &PrivateRedis) -> Option<Self> {
        let port = master.port.to_string();
        Self::start_with(&["--replicaof", "127.0.0.1", &port]).await
    }

    /// Starts one with more `redis-server` arguments.
    pub async fn start_with(extra: &[&str]) -> Option<Self> {
        let mut redis = Self {
            port: free_port(),
            dir: tempfile::tempdir().expect("redis directory"),
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
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

    /// Stops the server with SIGKILL (as a crash would: nothing is kept).
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
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
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

    /// A connection, for commands of the test's own.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("redis url");
        client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection")
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
