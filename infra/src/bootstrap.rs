//! First start: migrate, then load the categories and the gazetteer shipped in the
//! binary, each only when its table is empty. A database whose gazetteer was loaded
//! before commune centres were shipped gets the shipped centres when it holds none and
//! its units are all of the shipped edition.

use mati_domain::category;
use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::Db;
use crate::db::SchemaLock;
use crate::db::entity::category as category_row;
use crate::gazetteer::import::{self, ImportReport, Provenance};
use crate::gazetteer::source;

/// The gazetteer files shipped with Mati (MEF 2025, with the commune centres of the
/// pumi data), embedded so that the binary needs nothing beside it on first start.
pub const EMBEDDED_GAZETTEER: [(&str, &str); 5] = [
    ("provinces.csv", include_str!("../../data/gazetteer/provinces.csv")),
    ("districts.csv", include_str!("../../data/gazetteer/districts.csv")),
    ("communes.csv", include_str!("../../data/gazetteer/communes.csv")),
    ("villages.csv", include_str!("../../data/gazetteer/villages.csv")),
    (
        source::CENTRES_FILE,
        include_str!("../../data/gazetteer/commune_centroids.csv"),
    ),
];

/// What the first start did.
#[derive(Debug, Default)]
pub struct Seeded {
    /// Migrations applied (0 when the schema was current).
    pub migrations: usize,
    /// Categories inserted (0 when the table was filled before).
    pub categories: usize,
    /// The gazetteer import, when it ran.
    pub gazetteer: Option<(ImportReport, usize)>,
    /// Commune centres added to a gazetteer loaded before they were shipped.
    pub centres_added: usize,
}

/// Migrates and seeds `db`. Safe to call at every start, and from many processes at
/// once: on PostgreSQL they take turns under the [`SchemaLock`], and whoever comes after
/// the first finds the schema current and the tables filled.
pub async fn prepare(db: &Db) -> anyhow::Result<Seeded> {
    let lock = SchemaLock::acquire(db).await?;
    let seeded = prepare_locked(db).await;
    lock.release().await;
    seeded
}

async fn prepare_locked(db: &Db) -> anyhow::Result<Seeded> {
    let mut seeded = Seeded {
        migrations: db.migrate_up_locked().await?,
        ..Seeded::default()
    };
    if category_row::Entity::find().one(db.conn()).await?.is_none() {
        let rows = category::defaults()
            .into_iter()
            .zip(0..)
            .map(|(c, position)| category_row::ActiveModel {
                code: Set(c.code),
                name_km: Set(c.name_km),
                name_en: Set(c.name_en),
                responsible_level: Set(c.responsible_level.as_str().to_owned()),
                position: Set(position),
            });
        let _write = db.write_guard().await;
        let inserted = category_row::Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec_without_returning(db.conn())
            .await?;
        if let sea_orm::TryInsertResult::Inserted(n) = inserted {
            seeded.categories = usize::try_from(n).unwrap_or_default();
        }
    }
    if import::is_empty(db).await? {
        let parsed = source::parse_texts(&EMBEDDED_GAZETTEER)?;
        let defects = parsed.defects.len();
        let report = import::import(db, &parsed, &Provenance::default()).await?;
        seeded.gazetteer = Some((report, defects));
    } else if import::lacks_centres(db, &Provenance::default()).await? {
        let parsed = source::parse_texts(&EMBEDDED_GAZETTEER)?;
        seeded.centres_added = import::add_missing_centres(db, &parsed, &Provenance::default()).await?;
    }
    Ok(seeded)
}
