//! The repositories: the domain's ports implemented over sea-orm, for PostgreSQL and
//! SQLite alike.

mod accounts;
mod categories;
mod comments;
mod convert;
mod deadlines;
mod geography;

pub(crate) use comments::{awaiting_moderation, overdue};

use std::sync::Arc;

use crate::Db;
use crate::db::replica::{ReadReplica, Reads};
use crate::heavy::HeavyReads;

/// The SQL implementation of every store port.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    /// Where the reads go that may be a moment behind: statistics, and the public
    /// listings, their counts and exports. Everything else reads and writes `db`.
    reads: Reads,
    /// The gate of heavy reads (counts and statistics).
    heavy: Arc<HeavyReads>,
}

impl SqlStore {
    /// A store over `db`, its heavy reads through `heavy`.
    pub fn new(db: Db, heavy: Arc<HeavyReads>) -> Self {
        Self {
            reads: Reads::new(db.clone(), None),
            db,
            heavy,
        }
    }

    /// The same store, its statistics and public listings read from `replica` while it
    /// serves them.
    pub fn reading_from(self, replica: Option<Arc<ReadReplica>>) -> Self {
        Self {
            reads: Reads::new(self.db.clone(), replica),
            ..self
        }
    }
}
