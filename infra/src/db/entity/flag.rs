//! Table `flags`.

use sea_orm::entity::prelude::*;

/// A citizen flagging a comment, once; judged by a moderator's decision.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub comment_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub citizen_id: i64,
    pub reason: String,
    pub created_at: DateTimeUtc,
    /// `mati_domain::flag::address_digest` of the client address; none when unknown or
    /// once judged.
    pub address_digest: Option<String>,
    /// When a moderator's decision judged it; judged flags never count again.
    pub judged_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
