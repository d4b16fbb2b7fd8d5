//! Schema migrations: timestamped, forward-only once landed, each with a working `down`
//! (CI runs up, down, up on PostgreSQL and SQLite).

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261123_000001_core;
mod m20261123_000002_queue;
mod m20261123_000003_deadlines;
mod m20261123_000004_comment_flags;
mod m20261123_000005_comment_facts;
mod m20261129_000001_stats;
mod m20261129_000002_accounts;
mod m20261129_000003_flags;
mod m20261130_000001_commune_centres;
mod m20261130_000002_api_keys;

/// Every migration, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_core::Migration),
            Box::new(m20261123_000002_queue::Migration),
            Box::new(m20261123_000003_deadlines::Migration),
            Box::new(m20261123_000004_comment_flags::Migration),
            Box::new(m20261123_000005_comment_facts::Migration),
            Box::new(m20261129_000001_stats::Migration),
            Box::new(m20261129_000002_accounts::Migration),
            Box::new(m20261129_000003_flags::Migration),
            Box::new(m20261130_000001_commune_centres::Migration),
            Box::new(m20261130_000002_api_keys::Migration),
        ]
    }
}
