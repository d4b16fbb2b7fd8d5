//! Table `comments`.

use sea_orm::entity::prelude::*;

/// A citizen comment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub tracking_code: String,
    pub body: String,
    pub category_code: String,
    pub commune_code: String,
    pub village_code: Option<String>,
    pub status: String,
    pub assigned_unit: Option<String>,
    pub is_public: bool,
    pub author_id: i64,
    pub client_id: Option<String>,
    pub gender: Option<String>,
    pub age_group: Option<String>,
    pub created_at: DateTimeUtc,
    pub routed_at: Option<DateTimeUtc>,
    pub ack_due_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub satisfied: Option<bool>,
    pub ratings: i32,
    pub satisfied_ratings: i32,
    pub reopen_count: i32,
    pub support_count: i32,
    pub version: i32,
    pub escalated_levels: i32,
    pub hidden: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
