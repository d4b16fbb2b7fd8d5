//! Mati's adapters: PostgreSQL and SQLite through sea-orm (entities, migrations and the
//! repositories that implement the domain's ports), argon2id password hashing, the
//! gazetteer importer and first-start seeding.

pub mod bootstrap;
pub mod db;
pub mod events;
pub mod gazetteer;
pub mod health;
pub mod heavy;
pub mod limits;
pub mod migration;
pub mod outbox;
pub mod passwords;
pub mod queue;
pub mod redis;
pub mod repo;
pub mod seed;
pub mod statistics;
pub mod wiring;

pub use db::{Db, PoolSettings};
