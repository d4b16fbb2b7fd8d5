//! The repositories: the domain's ports implemented over sea-orm, for PostgreSQL and
//! SQLite alike.

mod accounts;
mod categories;
mod comments;
mod convert;
mod geography;

use std::sync::Arc;

use mati_domain::clock::Clock;
use mati_domain::service::Ports;

use crate::Db;
use crate::passwords::Argon2id;

/// The SQL implementation of every store port.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Every port the domain needs, backed by `db`, argon2id and `clock`.
pub fn ports(db: Db, clock: Arc<dyn Clock>) -> Ports {
    let store = Arc::new(SqlStore::new(db));
    Ports {
        geography: store.clone(),
        categories: store.clone(),
        comments: store.clone(),
        accounts: store,
        passwords: Arc::new(Argon2id),
        clock,
    }
}
