//! Deadline rules set by admins, per level and optionally per category.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_pk_auto, integer, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeadlineRules {
    Table,
    Id,
    Level,
    CategoryCode,
    AcknowledgeHours,
    RespondHours,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeadlineRules::Table)
                    .col(big_pk_auto(DeadlineRules::Id))
                    .col(string(DeadlineRules::Level))
                    // '' stands for every category: NULL would not be unique in PostgreSQL.
                    .col(string(DeadlineRules::CategoryCode).default(""))
                    .col(integer(DeadlineRules::AcknowledgeHours))
                    .col(integer(DeadlineRules::RespondHours))
                    .index(
                        Index::create()
                            .name("uq_deadline_rules_level_category")
                            .col(DeadlineRules::Level)
                            .col(DeadlineRules::CategoryCode)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeadlineRules::Table).to_owned())
            .await
    }
}
