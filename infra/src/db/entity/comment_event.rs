//! Table `comment_events`.

use sea_orm::entity::prelude::*;

/// One event in the life of a comment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub comment_id: i64,
    pub kind: String,
    pub at: DateTimeUtc,
    pub unit_code: Option<String>,
    pub from_unit_code: Option<String>,
    pub actor_id: Option<i64>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
