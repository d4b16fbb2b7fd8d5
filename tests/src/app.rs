//! `TestApp`: a running `mati` server on port 0 against its own database; started,
//! replicated, stopped, its log read, and its command line run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::backend::{Backend, TestDb};

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

    /// Sends SIGTERM, as a service manager stopping the server does.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server is running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
    }

    /// Waits for the server to exit, at most `limit`; its exit status.
    pub async fn exited(&mut self, limit: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for mati"),
            Err(_) => panic!("mati did not exit within {limit:?}:\n{}", self.log()),
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
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
}
