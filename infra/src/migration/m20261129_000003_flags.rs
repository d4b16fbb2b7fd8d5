//! Two columns on flags: a digest of the client address (flags hide a comment only from
//! distinct addresses) and when a moderator judged the flag (judged flags are kept, so
//! that their sessions cannot flag again, but never count again).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Flags {
    Table,
    AddressDigest,
    JudgedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Flags::Table)
                    .add_column(ColumnDef::new(Flags::AddressDigest).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Flags::Table)
                    .add_column(ColumnDef::new(Flags::JudgedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Flags::JudgedAt, Flags::AddressDigest] {
            manager
                .alter_table(Table::alter().table(Flags::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
