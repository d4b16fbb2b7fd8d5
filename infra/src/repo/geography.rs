//! The gazetteer and the category table.

use async_trait::async_trait;
use mati_domain::DomainResult;
use mati_domain::geography::{AdminUnit, CommuneCentre, UnitCode, UnitFilter};
use mati_domain::ports::Geography;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{SqlStore, convert};
use crate::db::db_error;
use crate::db::entity::admin_unit::{Column, Entity};
use crate::db::entity::commune_centre;

/// `%text%` for LIKE, with LIKE's own wildcards escaped.
fn contains(text: &str) -> LikeExpr {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

#[async_trait]
impl Geography for SqlStore {
    async fn units(&self, codes: &[UnitCode]) -> DomainResult<Vec<AdminUnit>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::Code.is_in(codes.iter().map(UnitCode::as_str)))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::unit).collect()
    }

    async fn list_units(&self, filter: &UnitFilter) -> DomainResult<Vec<AdminUnit>> {
        let mut query = Entity::find();
        if let Some(level) = filter.level {
            query = query.filter(Column::Level.eq(level.as_str()));
        }
        if let Some(parent) = &filter.parent {
            query = query.filter(Column::ParentCode.eq(parent.as_str()));
        }
        if let Some(search) = filter.search.as_deref() {
            let condition = if search.bytes().all(|b| b.is_ascii_digit()) {
                Condition::all().add(Column::Code.starts_with(search))
            } else {
                // English names match in any case; Khmer has no case.
                Condition::any()
                    .add(Expr::col(Column::NameKm).like(contains(search)))
                    .add(Expr::expr(Func::lower(Expr::col(Column::NameEn))).like(contains(&search.to_lowercase())))
            };
            query = query.filter(condition);
        }
        let rows = query
            .order_by_asc(Column::Code)
            .limit(filter.limit)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::unit).collect()
    }

    async fn children(&self, parents: &[UnitCode]) -> DomainResult<Vec<AdminUnit>> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::ParentCode.is_in(parents.iter().map(UnitCode::as_str)))
            .order_by_asc(Column::Code)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::unit).collect()
    }

    async fn all_commune_centres(&self) -> DomainResult<Vec<CommuneCentre>> {
        let rows = commune_centre::Entity::find()
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::centre).collect()
    }

    async fn commune_centres(&self, codes: &[UnitCode]) -> DomainResult<Vec<CommuneCentre>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let rows = commune_centre::Entity::find()
            .filter(commune_centre::Column::Code.is_in(codes.iter().map(UnitCode::as_str)))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::centre).collect()
    }
}
