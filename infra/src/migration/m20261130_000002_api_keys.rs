//! Keys of the client applications that post comments through Open311 (a CSO's app, a
//! city's 311 tool): issued by an admin, kept only by the digest of the key, revocable.
//! Each key has a citizen identity of its own, the author of the comments it posts, so
//! that idempotency and limits work for it as for a phone. And an index on the time of
//! comment events, for Open311's feed of updates within a period.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string, text, timestamp_with_time_zone};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    KeyDigest,
    CitizenId,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum CommentEvents {
    Table,
    At,
}

const EVENTS_BY_TIME: &str = "idx_comment_events_at";

#[derive(DeriveIden)]
enum Citizens {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(text(ApiKeys::Name))
                    .col(string(ApiKeys::KeyDigest).unique_key())
                    .col(big_integer(ApiKeys::CitizenId))
                    .col(big_integer(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(ColumnDef::new(ApiKeys::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_citizen")
                            .from(ApiKeys::Table, ApiKeys::CitizenId)
                            .to(Citizens::Table, Citizens::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_staff")
                            .from(ApiKeys::Table, ApiKeys::CreatedBy)
                            .to(Staff::Table, Staff::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EVENTS_BY_TIME)
                    .table(CommentEvents::Table)
                    .col(CommentEvents::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(EVENTS_BY_TIME)
                    .table(CommentEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}
