//! An online copy of a SQLite database, for `mati backup`. PostgreSQL has its own tools
//! for that (`pg_dump`).

use std::path::Path;

use anyhow::Context;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::Db;

impl Db {
    /// Writes a copy of this SQLite database, as it stands at one moment, to the new file
    /// `path` (`VACUUM INTO`), then flushes it to disk. The copy is one read transaction:
    /// in WAL mode it neither waits for the server's writers nor holds them up, and it is
    /// complete without a `-wal` file. SQLite refuses a `path` that exists and is not
    /// empty.
    pub async fn backup_sqlite(&self, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(self.backend() == DbBackend::Sqlite, "not a SQLite database");
        let target = path.to_str().context("the backup's path is not UTF-8")?;
        let tables = self
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or_default();
        anyhow::ensure!(tables > 0, "the database holds no tables: nothing to back up");
        self.conn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [target.into()],
            ))
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::File::open(path)
            .and_then(|file| file.sync_all())
            .with_context(|| format!("cannot flush {} to disk", path.display()))
    }
}
