//! Which database a test runs on, and an isolated database of it: a fresh SQLite file or
//! a fresh PostgreSQL database, dropped when the test ends.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

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
