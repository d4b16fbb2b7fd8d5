//! The lock that migrations and first-start seeding hold on PostgreSQL.

use anyhow::Context;
use sea_orm::DbBackend;

use super::Db;

/// The key of the PostgreSQL advisory lock that migrations and first-start seeding hold
/// ("mati" and "schema" in ASCII), the same in every process of every version.
const SCHEMA_LOCK_KEY: i64 = 0x6d61_7469_7363_6865;

/// A PostgreSQL session-level advisory lock held on a connection of its own, detached
/// from the pool: whoever changes the schema or seeds it holds it, so that processes
/// starting at the same moment take turns, and the last ones find nothing left to do.
/// If the process dies, its connection closes and PostgreSQL releases the lock; if the
/// holder is dropped without [`SchemaLock::release`], closing the connection does too.
/// On SQLite, where writers already take turns, there is nothing to hold.
pub struct SchemaLock {
    connection: Option<sea_orm::sqlx::PgConnection>,
}

impl SchemaLock {
    /// Waits for the lock (PostgreSQL), logging once when another process holds it.
    pub async fn acquire(db: &Db) -> anyhow::Result<Self> {
        use sea_orm::sqlx::{Connection, Row};

        if db.backend() != DbBackend::Postgres {
            return Ok(Self { connection: None });
        }
        let pool = db.conn().get_postgres_connection_pool();
        let mut connection = pool.acquire().await.context("cannot connect to the database")?.detach();
        let taken: bool = sea_orm::sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(SCHEMA_LOCK_KEY)
            .fetch_one(&mut connection)
            .await?
            .try_get(0)?;
        if !taken {
            tracing::info!("another process is migrating the database; waiting for it");
            sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(SCHEMA_LOCK_KEY)
                .execute(&mut connection)
                .await
                .context("waiting for the schema lock")?;
        }
        connection.ping().await.context("the schema lock's connection")?;
        Ok(Self {
            connection: Some(connection),
        })
    }

    /// Releases the lock by closing its connection.
    pub async fn release(mut self) {
        use sea_orm::sqlx::Connection;

        if let Some(connection) = self.connection.take()
            && let Err(err) = connection.close().await
        {
            tracing::warn!(error = %err, "closing the schema lock's connection");
        }
    }
}
