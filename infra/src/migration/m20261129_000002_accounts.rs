//! Accounts that can be closed and tokens that end: staff accounts can be disabled;
//! citizen tokens record their last use (they expire after an idle time) and can be
//! revoked; devices trusted for a staff account (OWASP's device cookie) are kept by the
//! digest of their token; and a staff member's sessions can be found to end them all.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string, timestamp_with_time_zone, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Citizens {
    Table,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum StaffSessions {
    Table,
    StaffId,
}

#[derive(DeriveIden)]
enum StaffDevices {
    Table,
    TokenDigest,
    StaffId,
    CreatedAt,
    LastUsedAt,
}

const SESSIONS_BY_STAFF: &str = "idx_staff_sessions_staff";
const DEVICES_BY_STAFF: &str = "idx_staff_devices_staff";

async fn add_column(manager: &SchemaManager<'_>, table: impl IntoIden, column: impl IntoIden) -> Result<(), DbErr> {
    // SQLite adds one column per statement.
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(timestamp_with_time_zone_null(column))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, Staff::Table, Staff::DisabledAt).await?;
        add_column(manager, Citizens::Table, Citizens::LastUsedAt).await?;
        add_column(manager, Citizens::Table, Citizens::RevokedAt).await?;
        // Sessions issued before this migration count as used when they were created.
        manager
            .exec_stmt(
                Query::update()
                    .table(Citizens::Table)
                    .value(Citizens::LastUsedAt, Expr::col(Citizens::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(SESSIONS_BY_STAFF)
                    .table(StaffSessions::Table)
                    .col(StaffSessions::StaffId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffDevices::Table)
                    .col(string(StaffDevices::TokenDigest).primary_key())
                    .col(big_integer(StaffDevices::StaffId))
                    .col(timestamp_with_time_zone(StaffDevices::CreatedAt))
                    .col(timestamp_with_time_zone(StaffDevices::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_devices_staff")
                            .from(StaffDevices::Table, StaffDevices::StaffId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DEVICES_BY_STAFF)
                    .table(StaffDevices::Table)
                    .col(StaffDevices::StaffId)
                    .col(StaffDevices::LastUsedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffDevices::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(SESSIONS_BY_STAFF)
                    .table(StaffSessions::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Citizens::RevokedAt, Citizens::LastUsedAt] {
            manager
                .alter_table(Table::alter().table(Citizens::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Staff::Table)
                    .drop_column(Staff::DisabledAt)
                    .to_owned(),
            )
            .await
    }
}
