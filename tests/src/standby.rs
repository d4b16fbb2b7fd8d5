//! A PostgreSQL streaming standby of the tests' server, of one test's own: a base backup
//! (`pg_basebackup`) in a temporary directory, started on a free port with the server's
//! own binaries; the test may pause and resume its replay, stop it as a crash would and
//! start it again. Stopped and removed when dropped.
//!
//! It has no replication slot: a slot left behind by a test killed before its cleanup
//! would keep the shared server's WAL forever. The standby is stopped only for moments,
//! well within the WAL the server keeps anyway.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tokio::process::Command;

use crate::backend::{backends_required, postgres_url};

/// How long the standby may take to start or to catch up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running (or stopped) standby.
pub struct Standby {
    pub port: u16,
    bin: PathBuf,
    /// Whether commands run as the `postgres` user (this process is root, which
    /// PostgreSQL refuses to run as).
    as_postgres: bool,
    root: tempfile::TempDir,
    running: bool,
}

/// Skips the test (`None`) with `why`, or fails it when backends are required.
fn unavailable<T>(why: &str) -> Option<T> {
    assert!(!backends_required(), "a PostgreSQL standby is required: {why}");
    eprintln!("skipped: no PostgreSQL standby: {why}");
    None
}

/// The output of `program args…`, when it runs.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The directory of the PostgreSQL binaries of major version `major`: the Debian layout
/// first, then what `pg_config` says, each only if it holds a `postgres` of that version.
fn binaries(major: u32) -> Option<PathBuf> {
    let candidates = [
        Some(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"))),
        output("pg_config", &["--bindir"]).map(PathBuf::from),
    ];
    candidates.into_iter().flatten().find(|dir| {
        ["pg_basebackup", "pg_ctl"].iter().all(|b| dir.join(b).exists())
            && output(&dir.join("postgres").to_string_lossy(), &["--version"])
                .is_some_and(|version| version.contains(&format!(" {major}.")))
    })
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

async fn text(conn: &DatabaseConnection, sql: &str) -> String {
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<String>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

impl Standby {
    /// Takes a base backup of the tests' server (every database it holds now, and all
    /// that is written later, streamed) and starts it as a hot standby; `None` (skip) when
    /// that cannot be done and backends are not required.
    pub async fn start() -> Option<Self> {
        let server = postgres_url();
        let Ok(primary) = Database::connect(&server).await else {
            return unavailable(&format!("PostgreSQL at {server} is unreachable"));
        };
        let setting = |name: &str| {
            let primary = &primary;
            let sql = format!("SELECT setting FROM pg_settings WHERE name = '{name}'");
            async move { text(primary, &sql).await }
        };
        let major: u32 = setting("server_version_num").await.parse::<u32>().unwrap_or_default() / 10_000;
        let Some(bin) = binaries(major) else {
            return unavailable(&format!(
                "the binaries of PostgreSQL {major} (pg_basebackup, pg_ctl, postgres) are not installed"
            ));
        };
        // A standby needs at least the primary's value of these.
        let mut conf = String::new();
        for name in [
            "max_connections",
            "max_worker_processes",
            "max_wal_senders",
            "max_prepared_transactions",
            "max_locks_per_transaction",
        ] {
            conf.push_str(&format!("{name} = {}\n", setting(name).await));
        }
        let _ = primary.close().await;

        let as_postgres = output("id", &["-u"]).as_deref() == Some("0");
        let root = tempfile::Builder::new()
            .prefix("mati-standby-")
            .tempdir()
            .expect("standby directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut standby = Self {
            port,
            bin,
            as_postgres,
            root,
            running: false,
        };
        standby.hand_to_postgres(standby.root.path());

        let url = reqwest::Url::parse(&server).expect("MATI_TEST_POSTGRES_URL");
        let (host, primary_port) = (
            url.host_str().unwrap_or("127.0.0.1").to_owned(),
            url.port().unwrap_or(5432).to_string(),
        );
        let user = if url.username().is_empty() {
            "postgres"
        } else {
            url.username()
        };
        let data = standby.data();
        let backup = standby
            .command("pg_basebackup")
            .args(["-h", &host, "-p", &primary_port, "-U", user, "-w"])
            .arg("-D")
            .arg(&data)
            // A standby (standby.signal, primary_conninfo), its WAL streamed meanwhile,
            // an immediate checkpoint and no fsync: a test's copy.
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .output()
            .await
            .expect("run pg_basebackup");
        if !backup.status.success() {
            let stderr = String::from_utf8_lossy(&backup.stderr);
            if stderr.contains("pg_hba.conf") {
                return unavailable(&format!(
                    "{host}:{primary_port} refuses replication connections from this machine: add \
                     `host replication all 127.0.0.1/32 trust` to its pg_hba.conf and reload it \
                     (`.ci/run services` does): {stderr}"
                ));
            }
            return unavailable(&format!("pg_basebackup failed: {stderr}"));
        }
        // The server's configuration may live outside its data directory (Debian): the
        // standby gets its own.
        conf.push_str(&format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             hot_standby = on\nfsync = off\nshared_buffers = 16MB\n",
            standby.root.path().display()
        ));
        standby.write(&data.join("postgresql.conf"), &conf);
        standby.write(
            &data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        );
        standby.write(&data.join("pg_ident.conf"), "");
        standby.resume().await;
        Some(standby)
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// `program` of the server's binaries, run as the `postgres` user when this is root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        command.current_dir(self.root.path()).stdin(Stdio::null());
        command
    }

    /// Gives `path` to the `postgres` user when commands run as it.
    fn hand_to_postgres(&self, path: &Path) {
        if !self.as_postgres {
            return;
        }
        let id = |flag: &str| {
            output("id", &[flag, "postgres"])
                .and_then(|id| id.parse::<u32>().ok())
                .expect("a postgres user")
        };
        std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).expect("chown to postgres");
    }

    fn write(&self, path: &Path, contents: &str) {
        std::fs::write(path, contents).expect("write the standby's configuration");
        self.hand_to_postgres(path);
    }

    /// What the standby logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("standby.log")).unwrap_or_default()
    }

    /// The database of `primary_url` (a URL of the tests' server) on the standby.
    pub fn url_of(&self, primary_url: &str) -> String {
        let mut url = reqwest::Url::parse(primary_url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(self.port)).expect("port");
        url.to_string()
    }

    /// Its `postgres` database, for the test's own statements.
    fn admin_url(&self) -> String {
        let mut url = reqwest::Url::parse(&postgres_url()).expect("MATI_TEST_POSTGRES_URL");
        url.set_path("/postgres");
        self.url_of(url.as_str())
    }

    async fn admin(&self) -> DatabaseConnection {
        connect(&self.admin_url()).await
    }

    /// Starts it (again) and waits until it accepts connections as a hot standby.
    pub async fn resume(&mut self) {
        let log = self.root.path().join("standby.log");
        let started = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", &PATIENCE.as_secs().to_string(), "start"])
            .output()
            .await
            .expect("run pg_ctl start");
        assert!(
            started.status.success(),
            "the standby did not start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            self.log()
        );
        self.running = true;
        let url = self.admin_url();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(conn) = Database::connect(&url).await
                && text(&conn, "SELECT pg_is_in_recovery()::text").await == "true"
            {
                let _ = conn.close().await;
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the standby does not accept connections:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops it at once, as a crash would.
    pub async fn crash(&mut self) {
        let stopped = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .await
            .expect("run pg_ctl stop");
        assert!(
            stopped.status.success(),
            "the standby did not stop: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
        self.running = false;
    }

    /// Pauses replay (WAL still arrives) and waits until it has paused.
    pub async fn pause_replay(&self) {
        let conn = self.admin().await;
        conn.execute_unprepared("SELECT pg_wal_replay_pause()")
            .await
            .expect("pause replay");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while text(&conn, "SELECT pg_get_wal_replay_pause_state()").await != "paused" {
            assert!(tokio::time::Instant::now() < deadline, "replay does not pause");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = conn.close().await;
    }

    /// Resumes replay.
    pub async fn resume_replay(&self) {
        let conn = self.admin().await;
        conn.execute_unprepared("SELECT pg_wal_replay_resume()")
            .await
            .expect("resume replay");
        let _ = conn.close().await;
    }

    /// Waits until it has replayed everything the server had written when asked.
    pub async fn catch_up(&self) {
        let primary = connect(&postgres_url()).await;
        let written = text(&primary, "SELECT pg_current_wal_lsn()::text").await;
        let _ = primary.close().await;
        let conn = self.admin().await;
        let replayed = format!("SELECT (pg_last_wal_replay_lsn() >= '{written}'::pg_lsn)::text");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while text(&conn, &replayed).await != "true" {
            assert!(tokio::time::Instant::now() < deadline, "the standby does not catch up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = conn.close().await;
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        if self.running {
            let mut stop = std::process::Command::new(if self.as_postgres {
                "runuser".into()
            } else {
                self.bin.join("pg_ctl")
            });
            if self.as_postgres {
                stop.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            }
            let _ = stop
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .current_dir(self.root.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // The temporary directory goes with it.
    }
}
