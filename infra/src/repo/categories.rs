//! The category table.

use async_trait::async_trait;
use mati_domain::DomainResult;
use mati_domain::category::Category;
use mati_domain::ports::Categories;
use sea_orm::{EntityTrait, QueryOrder};

use super::{SqlStore, convert};
use crate::db::db_error;
use crate::db::entity::category::{Column, Entity};

#[async_trait]
impl Categories for SqlStore {
    async fn categories(&self) -> DomainResult<Vec<Category>> {
        let rows = Entity::find()
            .order_by_asc(Column::Position)
            .order_by_asc(Column::Code)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::category).collect()
    }
}
