//! Two columns on comments: the levels a comment was escalated away from (a bit per
//! level, for statistics without scanning events) and whether flags hid it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    EscalatedLevels,
    Hidden,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(
                        ColumnDef::new(Comments::EscalatedLevels)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(ColumnDef::new(Comments::Hidden).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Comments::Hidden, Comments::EscalatedLevels] {
            manager
                .alter_table(Table::alter().table(Comments::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
