//! Table `admin_units`.

use sea_orm::entity::prelude::*;

/// An administrative unit of the gazetteer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub level: String,
    pub kind: String,
    pub name_km: String,
    pub name_en: String,
    pub parent_code: Option<String>,
    pub source: String,
    pub version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
