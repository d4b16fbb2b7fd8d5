//! Table `deadline_rules`.

use sea_orm::entity::prelude::*;

/// Deadlines of one level (and category; '' for all).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub level: String,
    pub category_code: String,
    pub acknowledge_hours: i32,
    pub respond_hours: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
