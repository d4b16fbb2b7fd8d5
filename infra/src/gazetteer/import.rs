//! Writing a parsed gazetteer to the database: all valid units in one transaction,
//! changing only what differs, so that a second run of the same data changes nothing.
//! A gazetteer of another source or version replaces the old one entirely: codes of
//! two versions are never mixed.

use std::collections::HashMap;

use mati_domain::geography::AdminUnit;
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};

use super::source::Parsed;
use crate::Db;
use crate::db::entity::{admin_unit, comment};

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
    let other_version = admin_unit::Entity::delete_many()
        .filter(
            Condition::any()
                .add(admin_unit::Column::Source.ne(provenance.source.as_str()))
                .add(admin_unit::Column::Version.ne(provenance.version.as_str())),
        )
        .exec(&txn)
        .await?;
    report.removed = usize::try_from(other_version.rows_affected).unwrap_or(usize::MAX);
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
