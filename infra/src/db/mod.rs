//! The database: one pool for PostgreSQL or SQLite, a count of the SQL statements it
//! ran (exported as a metric, and how tests prove that a page costs a constant number
//! of statements), and the translation of database errors into domain errors.

pub mod entity;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use mati_domain::DomainError;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, MutexGuard};

use crate::migration::Migrator;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// Longest wait for a free connection before SERVICE_UNAVAILABLE.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// A connected database.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    // SQLite allows one writer at a time; queueing writers here instead of in SQLite's
    // busy handler keeps concurrent submissions from failing with SQLITE_BUSY.
    writer: Option<Arc<Mutex<()>>>,
}

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://…`). SQLite runs in WAL mode with a
    /// busy timeout, so the CLI works while a server runs on the same file.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .connect_timeout(settings.acquire_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let mut conn = sea_orm::Database::connect(options)
            .await
            .context("cannot connect to the database")?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&statements);
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let writer = (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            conn,
            statements,
            writer,
        })
    }

    /// The sea-orm connection.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// How many SQL statements this pool has run.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Waits for the right to write (SQLite only; PostgreSQL needs no queue).
    pub async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate_up(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None).await.context("migration failed")
    }

    /// Rolls every migration back.
    pub async fn migrate_down(&self) -> anyhow::Result<()> {
        Migrator::down(&self.conn, None).await.context("rollback failed")
    }

    /// Applied and pending migrations, by name.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<(String, bool)>> {
        let applied = Migrator::get_applied_migrations(&self.conn).await?;
        let pending = Migrator::get_pending_migrations(&self.conn).await?;
        Ok(applied
            .iter()
            .map(|m| (m.name().to_owned(), true))
            .chain(pending.iter().map(|m| (m.name().to_owned(), false)))
            .collect())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.conn
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(db_error)
    }
}

/// Whether `err` is a violation of a unique constraint.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Translates a database error: an unreachable or restarting backend is
/// SERVICE_UNAVAILABLE (safe to retry); everything else is INTERNAL. The detail stays in
/// the error for the log and never reaches a client.
pub fn db_error(err: DbErr) -> DomainError {
    if is_unavailable(&err) {
        DomainError::Unavailable(err.to_string())
    } else {
        DomainError::Internal(err.to_string())
    }
}

/// PostgreSQL SQLSTATEs (five characters) of a connection exception (class 08), a
/// shutdown or restart (57P01..57P03) or too many connections (53300); SQLite result
/// codes (numbers) whose primary code is BUSY (5) or LOCKED (6).
fn is_transient_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    // SQLite's extended codes keep the primary code in the low byte.
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(sqlx)) | DbErr::Exec(RuntimeErr::SqlxError(sqlx)) => match sqlx.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            // Connection exceptions (class 08), shutdown and restart (57P01..57P03), too
            // many connections (53300); SQLite's busy and locked.
            Sqlx::Database(db) => db.code().is_some_and(|code| is_transient_code(&code)),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_and_busy_databases_are_transient_other_errors_are_not() {
        for code in ["08006", "08001", "57P01", "57P03", "53300", "5", "517", "6", "262"] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in ["23505", "42P01", "42601", "1", "19", "2067"] {
            assert!(!is_transient_code(code), "{code}");
        }
    }
}
