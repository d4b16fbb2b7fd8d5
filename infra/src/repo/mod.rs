//! The repositories: the domain's ports implemented over sea-orm, for PostgreSQL and
//! SQLite alike.

mod accounts;
mod categories;
mod comments;
mod convert;
mod deadlines;
mod geography;

use std::sync::Arc;

use crate::Db;
use crate::heavy::HeavyReads;

/// The SQL implementation of every store port.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    /// The gate of heavy reads (counts and statistics).
    heavy: Arc<HeavyReads>,
}

impl SqlStore {
    /// A store over `db`, its heavy reads through `heavy`.
    pub fn new(db: Db, heavy: Arc<HeavyReads>) -> Self {
        Self { db, heavy }
    }
}
