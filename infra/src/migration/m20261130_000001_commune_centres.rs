//! Approximate centres of communes (from the NCDD-based pumi data), to suggest the
//! commune of a GPS position. Not every commune has one; each row records, like the
//! units, the gazetteer source and version it was imported with, and goes when its
//! commune goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{double, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CommuneCentres {
    Table,
    Code,
    Lat,
    Lon,
    Source,
    Version,
}

#[derive(DeriveIden)]
enum AdminUnits {
    Table,
    Code,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CommuneCentres::Table)
                    .col(string(CommuneCentres::Code).primary_key())
                    .col(double(CommuneCentres::Lat))
                    .col(double(CommuneCentres::Lon))
                    .col(string(CommuneCentres::Source))
                    .col(string(CommuneCentres::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_commune_centres_unit")
                            .from(CommuneCentres::Table, CommuneCentres::Code)
                            .to(AdminUnits::Table, AdminUnits::Code)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CommuneCentres::Table).to_owned())
            .await
    }
}
