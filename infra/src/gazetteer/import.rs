//! Writing a parsed gazetteer to the database: all valid units in one transaction,
//! changing only what differs, so that a second run of the same data changes nothing.
//! A gazetteer of another source or version replaces the old one entirely: codes of
//! two versions are never mixed.
//!
//! Commune centres are written in the same transaction. A source with
//! `commune_centroids.csv` replaces the centres of its version with the valid rows of
//! that file; a source without it leaves the stored centres of its version as they are.
//! Centres of another version go with their units.

use std::collections::{HashMap, HashSet};

use mati_domain::geography::{AdminLevel, AdminUnit, CommuneCentre};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait,
};

use super::source::Parsed;
use crate::Db;
use crate::db::entity::{admin_unit, comment, commune_centre};

/// Where a gazetteer comes from, recorded on every unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// Publisher, e.g. `MEF`.
    pub source: String,
    /// Edition, e.g. `2025`.
    pub version: String,
}

impl Default for Provenance {
    fn default() -> Self {
        Self {
            source: "MEF".into(),
            version: "2025".into(),
        }
    }
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Units that were not there.
    pub added: usize,
    /// Units whose names, type or parent changed.
    pub changed: usize,
    /// Units already there as they are.
    pub unchanged: usize,
    /// Units of another source or version that were removed.
    pub removed: usize,
    /// Commune centres written, when the source had them (none when it had no
    /// `commune_centroids.csv` and the stored ones were kept).
    pub centres: Option<usize>,
}

/// Rows per INSERT: keeps below SQLite's limit on bound parameters.
const BATCH: usize = 500;

fn row(unit: &AdminUnit, provenance: &Provenance) -> admin_unit::Model {
    admin_unit::Model {
        code: unit.code.as_str().to_owned(),
        level: unit.level.as_str().to_owned(),
        kind: unit.kind.clone(),
        name_km: unit.name_km.clone(),
        name_en: unit.name_en.clone(),
        parent_code: unit.parent_code.as_ref().map(|p| p.as_str().to_owned()),
        source: provenance.source.clone(),
        version: provenance.version.clone(),
    }
}

fn active(model: admin_unit::Model) -> admin_unit::ActiveModel {
    admin_unit::ActiveModel {
        code: Set(model.code),
        level: Set(model.level),
        kind: Set(model.kind),
        name_km: Set(model.name_km),
        name_en: Set(model.name_en),
        parent_code: Set(model.parent_code),
        source: Set(model.source),
        version: Set(model.version),
    }
}

fn centre_row(centre: &CommuneCentre, provenance: &Provenance) -> commune_centre::ActiveModel {
    commune_centre::ActiveModel {
        code: Set(centre.code.as_str().to_owned()),
        lat: Set(centre.lat),
        lon: Set(centre.long),
        source: Set(provenance.source.clone()),
        version: Set(provenance.version.clone()),
    }
}

/// Inserts centres in batches.
async fn insert_centres(txn: &DatabaseTransaction, rows: Vec<commune_centre::ActiveModel>) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
        commune_centre::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Rows that are not of `provenance`.
fn other_version<C: ColumnTrait>(source: C, version: C, provenance: &Provenance) -> Condition {
    Condition::any()
        .add(source.ne(provenance.source.as_str()))
        .add(version.ne(provenance.version.as_str()))
}

fn unit_codes() -> SelectStatement {
    Query::select()
        .column(admin_unit::Column::Code)
        .from(admin_unit::Entity)
        .to_owned()
}

/// Writes the valid units of `parsed` in one transaction.
pub async fn import(db: &Db, parsed: &Parsed, provenance: &Provenance) -> anyhow::Result<ImportReport> {
    let _write = db.write_guard().await;
    let txn = db.conn().begin().await?;
    let mut report = ImportReport::default();
    // The foreign key would take them with their units too; said here, it does not
    // depend on SQLite's foreign-key switch.
    commune_centre::Entity::delete_many()
        .filter(other_version(
            commune_centre::Column::Source,
            commune_centre::Column::Version,
            provenance,
        ))
        .exec(&txn)
        .await?;
    let removed = admin_unit::Entity::delete_many()
        .filter(other_version(
            admin_unit::Column::Source,
            admin_unit::Column::Version,
            provenance,
        ))
        .exec(&txn)
        .await?;
    report.removed = usize::try_from(removed.rows_affected).unwrap_or(usize::MAX);
    let existing: HashMap<String, admin_unit::Model> = admin_unit::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| (m.code.clone(), m))
        .collect();
    let mut fresh = Vec::new();
    for unit in &parsed.units {
        let wanted = row(unit, provenance);
        match existing.get(&wanted.code) {
            None => fresh.push(active(wanted)),
            Some(stored) if *stored == wanted => report.unchanged += 1,
            Some(_) => {
                admin_unit::Entity::update(active(wanted)).exec(&txn).await?;
                report.changed += 1;
            }
        }
    }
    report.added = fresh.len();
    let mut rows = fresh.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
        admin_unit::Entity::insert_many(batch)
            .exec_without_returning(&txn)
            .await?;
    }
    if let Some(centres) = &parsed.centres {
        commune_centre::Entity::delete_many().exec(&txn).await?;
        insert_centres(&txn, centres.iter().map(|c| centre_row(c, provenance)).collect()).await?;
        report.centres = Some(centres.len());
    }
    // Comments keep their commune and unit codes; an edition that drops a code still in
    // use would leave them pointing at nothing, so it is refused as a whole.
    let orphaned = comment::Entity::find()
        .filter(
            Condition::any()
                .add(comment::Column::CommuneCode.not_in_subquery(unit_codes()))
                .add(comment::Column::AssignedUnit.not_in_subquery(unit_codes())),
        )
        .count(&txn)
        .await?;
    if orphaned > 0 {
        txn.rollback().await?;
        anyhow::bail!("{orphaned} comments refer to units this gazetteer lacks; nothing was imported");
    }
    txn.commit().await?;
    Ok(report)
}

/// Whether the database holds any unit yet.
pub async fn is_empty(db: &Db) -> anyhow::Result<bool> {
    Ok(admin_unit::Entity::find().one(db.conn()).await?.is_none())
}

/// Whether the database holds no commune centre and only units of `provenance`: whether
/// [`add_missing_centres`] would write any (cheap, while parsing a gazetteer is not).
pub async fn lacks_centres(db: &Db, provenance: &Provenance) -> anyhow::Result<bool> {
    lacks_centres_in(db.conn(), provenance).await
}

async fn lacks_centres_in(conn: &impl ConnectionTrait, provenance: &Provenance) -> anyhow::Result<bool> {
    let has_centres = commune_centre::Entity::find().one(conn).await?.is_some();
    let foreign = admin_unit::Entity::find()
        .filter(other_version(
            admin_unit::Column::Source,
            admin_unit::Column::Version,
            provenance,
        ))
        .one(conn)
        .await?
        .is_some();
    Ok(!has_centres && !foreign)
}

/// Adds the centres of `parsed` to a database whose units are all of `provenance` but
/// that holds no centre yet: one that was filled before centres were imported. Only
/// centres of communes it holds are written; the units are left as they are (they may
/// have been changed by an import since). How many were written; none when the database
/// holds centres already, or units of another provenance, or none at all.
pub async fn add_missing_centres(db: &Db, parsed: &Parsed, provenance: &Provenance) -> anyhow::Result<usize> {
    let Some(centres) = &parsed.centres else {
        return Ok(0);
    };
    let _write = db.write_guard().await;
    let txn = db.conn().begin().await?;
    if !lacks_centres_in(&txn, provenance).await? {
        return Ok(0);
    }
    let communes: HashSet<String> = admin_unit::Entity::find()
        .filter(admin_unit::Column::Level.eq(AdminLevel::Commune.as_str()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let rows: Vec<_> = centres
        .iter()
        .filter(|c| communes.contains(c.code.as_str()))
        .map(|c| centre_row(c, provenance))
        .collect();
    let written = rows.len();
    insert_centres(&txn, rows).await?;
    txn.commit().await?;
    Ok(written)
}
