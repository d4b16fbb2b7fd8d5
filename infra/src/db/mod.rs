//! The database: one pool for PostgreSQL or SQLite, a count of the SQL statements it
//! ran (exported as a metric, and how tests prove that a page costs a constant number
//! of statements), and the translation of database errors into domain errors.

mod backup;
pub mod entity;
pub mod replica;
mod schema_lock;

pub use schema_lock::SchemaLock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use mati_domain::DomainError;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, MutexGuard};

use crate::migration::Migrator;

/// Pool settings (the server's come from its settings, which hold the defaults).
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// Longest wait for a free connection before SERVICE_UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// PostgreSQL only: longest a statement may run before the server cancels it, so
    /// that no request holds a connection for long; none for one-off commands (imports,
    /// seeding, migrations), which may take as long as they need.
    pub statement_timeout: Option<Duration>,
}

/// A small pool for this crate's tests.
#[cfg(test)]
impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: None,
        }
    }
}

/// Session settings of every PostgreSQL connection: JIT compiling costs more than it
/// saves on Mati's short statements, and statistics aggregate `comment_facts` one
/// province partition at a time (off by default in PostgreSQL).
fn session_options(statement_timeout: Option<Duration>) -> Vec<(&'static str, String)> {
    let mut options = vec![
        ("jit", "off".to_owned()),
        ("enable_partitionwise_aggregate", "on".to_owned()),
    ];
    if let Some(timeout) = statement_timeout {
        options.push(("statement_timeout", format!("{}ms", timeout.as_millis().max(1))));
    }
    options
}

/// A connected database.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    // SQLite allows one writer at a time; queueing writers here instead of in SQLite's
    // busy handler keeps concurrent submissions from failing with SQLITE_BUSY.
    writer: Option<Arc<Mutex<()>>>,
    max_connections: u32,
}

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://…`). SQLite runs in WAL mode with a
    /// busy timeout, so the CLI works while a server runs on the same file.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        Self::open(url, settings, false).await
    }

    /// A pool over `url` that connects on first use, so that a server starts whether
    /// this database answers yet or not (a read replica).
    pub async fn connect_lazy(url: &str, settings: &PoolSettings) -> anyhow::Result<Self> {
        Self::open(url, settings, true).await
    }

    async fn open(url: &str, settings: &PoolSettings, lazy: bool) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        let statement_timeout = settings.statement_timeout;
        options
            .connect_lazy(lazy)
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .connect_timeout(settings.acquire_timeout)
            .sqlx_logging(false)
            .map_sqlx_postgres_opts(move |opts| opts.options(session_options(statement_timeout)))
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
            max_connections: settings.max_connections,
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

    /// Connections (idle, lent out, most) of the pool.
    pub fn pool_use(&self) -> (u32, u32, u32) {
        let (size, idle) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        (idle, size - idle, self.max_connections)
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

    /// Applies pending migrations; how many it applied. On PostgreSQL it holds the
    /// [`SchemaLock`] while it does, so replicas or commands starting together migrate once.
    pub async fn migrate_up(&self) -> anyhow::Result<usize> {
        let lock = SchemaLock::acquire(self).await?;
        let applied = self.migrate_up_locked().await;
        lock.release().await;
        applied
    }

    /// Applies pending migrations; the caller holds the [`SchemaLock`].
    pub(crate) async fn migrate_up_locked(&self) -> anyhow::Result<usize> {
        let pending = Migrator::get_pending_migrations(&self.conn).await?.len();
        if pending > 0 {
            Migrator::up(&self.conn, None).await.context("migration failed")?;
            tracing::info!(applied = pending, "migrations applied");
        }
        Ok(pending)
    }

    /// Rolls every migration back (under the [`SchemaLock`]).
    pub async fn migrate_down(&self) -> anyhow::Result<()> {
        let lock = SchemaLock::acquire(self).await?;
        let done = Migrator::down(&self.conn, None).await.context("rollback failed");
        lock.release().await;
        done
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

/// Runs `work` — a unit of database work, typically one transaction — on a task of its
/// own and waits for it. A request's future is dropped when its client hangs up, at any
/// `.await`; a transaction dropped there is not reliably undone before its pooled
/// connection serves the next request: sqlx queues a ROLLBACK for a transaction it knows
/// is open, but a `BEGIN` cancelled in flight leaves the server in a transaction that
/// nobody rolls back, and the next request's statements run inside it. Detached, the
/// work always runs to its end — commit, or rollback as a whole — whatever happens to
/// the caller, and its connection goes back to the pool clean.
pub async fn detached<T, E>(work: impl Future<Output = Result<T, E>> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbErr> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        // Only when the runtime shuts down: the process is ending.
        Err(_) => Err(E::from(DbErr::Custom(
            "the database work was cancelled at shutdown".into(),
        ))),
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
    } else if sqlstate(&err).as_deref() == Some(QUERY_CANCELED) {
        tracing::warn!(error = %err, "statement cancelled after the statement timeout");
        DomainError::Busy {
            retry_after: BUSY_RETRY_AFTER,
        }
    } else {
        DomainError::Internal(err.to_string())
    }
}

/// PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";
/// What a client whose statement ran out of time is told to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The SQLSTATE of a database's answer, if it was one.
pub(crate) fn sqlstate(err: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::Query(RuntimeErr::SqlxError(sqlx)) | DbErr::Exec(RuntimeErr::SqlxError(sqlx)) => match sqlx.as_ref() {
            Sqlx::Database(db) => db.code().map(|code| code.into_owned()),
            _ => None,
        },
        _ => None,
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

/// Whether `err` says the database could not be reached or is going away, rather than
/// that it refused the statement.
pub(crate) fn is_unavailable(err: &DbErr) -> bool {
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
