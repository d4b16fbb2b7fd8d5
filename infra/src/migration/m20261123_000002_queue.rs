//! The moderation queue's durable side: an outbox written with each submission (relayed
//! to Redis at least once) and the leases of the in-process queue.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string, timestamp_with_time_zone};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Topic,
    CommentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ModerationLeases {
    Table,
    CommentId,
    ModeratorId,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string(Outbox::Topic))
                    .col(big_integer(Outbox::CommentId))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModerationLeases::Table)
                    .col(big_integer(ModerationLeases::CommentId).primary_key())
                    .col(big_integer(ModerationLeases::ModeratorId))
                    .col(timestamp_with_time_zone(ModerationLeases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModerationLeases::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(Outbox::Table).to_owned()).await
    }
}
