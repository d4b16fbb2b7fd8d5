//! The core schema: gazetteer, categories, citizens, staff, comments and their history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, boolean_null, integer, string, string_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AdminUnits {
    Table,
    Code,
    Level,
    Kind,
    NameKm,
    NameEn,
    ParentCode,
    Source,
    Version,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Code,
    NameKm,
    NameEn,
    ResponsibleLevel,
    Position,
}

#[derive(DeriveIden)]
enum Citizens {
    Table,
    Id,
    TokenDigest,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    UnitCode,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StaffSessions {
    Table,
    TokenDigest,
    StaffId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    TrackingCode,
    Body,
    CategoryCode,
    CommuneCode,
    VillageCode,
    Status,
    AssignedUnit,
    IsPublic,
    AuthorId,
    ClientId,
    Gender,
    AgeGroup,
    CreatedAt,
    RoutedAt,
    AckDueAt,
    DueAt,
    AcknowledgedAt,
    FirstResponseAt,
    ResolvedAt,
    Satisfied,
    ReopenCount,
    SupportCount,
    Version,
}

#[derive(DeriveIden)]
enum CommentEvents {
    Table,
    Id,
    CommentId,
    Kind,
    At,
    UnitCode,
    FromUnitCode,
    ActorId,
    Note,
}

#[derive(DeriveIden)]
enum Responses {
    Table,
    Id,
    CommentId,
    Body,
    UnitCode,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Supports {
    Table,
    CommentId,
    CitizenId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Flags {
    Table,
    CommentId,
    CitizenId,
    Reason,
    CreatedAt,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(Alias::new(*col));
    }
    index.to_owned()
}

fn comment_fk(name: &str, from: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("comment_id"))
        .to(Comments::Table, Comments::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AdminUnits::Table)
                    .col(string(AdminUnits::Code).primary_key())
                    .col(string(AdminUnits::Level))
                    .col(string(AdminUnits::Kind))
                    .col(text(AdminUnits::NameKm))
                    .col(text(AdminUnits::NameEn))
                    .col(string_null(AdminUnits::ParentCode))
                    .col(string(AdminUnits::Source))
                    .col(string(AdminUnits::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_admin_units_parent", AdminUnits::Table, &["parent_code"]))
            .await?;
        manager
            .create_index(index("idx_admin_units_level", AdminUnits::Table, &["level", "code"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(string(Categories::Code).primary_key())
                    .col(text(Categories::NameKm))
                    .col(text(Categories::NameEn))
                    .col(string(Categories::ResponsibleLevel))
                    .col(integer(Categories::Position))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Citizens::Table)
                    .col(big_pk_auto(Citizens::Id))
                    .col(string(Citizens::TokenDigest).unique_key())
                    .col(timestamp_with_time_zone(Citizens::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(big_pk_auto(Staff::Id))
                    .col(string(Staff::Username).unique_key())
                    .col(text(Staff::PasswordHash))
                    .col(string(Staff::Role))
                    .col(string_null(Staff::UnitCode))
                    .col(timestamp_with_time_zone(Staff::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffSessions::Table)
                    .col(string(StaffSessions::TokenDigest).primary_key())
                    .col(big_integer(StaffSessions::StaffId))
                    .col(timestamp_with_time_zone(StaffSessions::CreatedAt))
                    .col(timestamp_with_time_zone(StaffSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(StaffSessions::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_sessions_staff")
                            .from(StaffSessions::Table, StaffSessions::StaffId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(big_pk_auto(Comments::Id))
                    .col(string(Comments::TrackingCode).unique_key())
                    .col(text(Comments::Body))
                    .col(string(Comments::CategoryCode))
                    .col(string(Comments::CommuneCode))
                    .col(string_null(Comments::VillageCode))
                    .col(string(Comments::Status))
                    .col(string_null(Comments::AssignedUnit))
                    .col(boolean(Comments::IsPublic))
                    .col(big_integer(Comments::AuthorId))
                    .col(string_null(Comments::ClientId))
                    .col(string_null(Comments::Gender))
                    .col(string_null(Comments::AgeGroup))
                    .col(timestamp_with_time_zone(Comments::CreatedAt))
                    .col(timestamp_with_time_zone_null(Comments::RoutedAt))
                    .col(timestamp_with_time_zone_null(Comments::AckDueAt))
                    .col(timestamp_with_time_zone_null(Comments::DueAt))
                    .col(timestamp_with_time_zone_null(Comments::AcknowledgedAt))
                    .col(timestamp_with_time_zone_null(Comments::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Comments::ResolvedAt))
                    .col(boolean_null(Comments::Satisfied))
                    .col(integer(Comments::ReopenCount).default(0))
                    .col(integer(Comments::SupportCount).default(0))
                    .col(integer(Comments::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comments_author")
                            .from(Comments::Table, Comments::AuthorId)
                            .to(Citizens::Table, Citizens::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A retry with the same clientId from the same phone finds the first comment;
        // NULL client ids never collide.
        manager
            .create_index(
                index(
                    "uq_comments_author_client",
                    Comments::Table,
                    &["author_id", "client_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_comments_commune", &["commune_code"][..]),
            ("idx_comments_assigned", &["assigned_unit", "id"][..]),
            ("idx_comments_status", &["status", "id"][..]),
            ("idx_comments_routed", &["routed_at"][..]),
        ] {
            manager.create_index(index(name, Comments::Table, cols)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CommentEvents::Table)
                    .col(big_pk_auto(CommentEvents::Id))
                    .col(big_integer(CommentEvents::CommentId))
                    .col(string(CommentEvents::Kind))
                    .col(timestamp_with_time_zone(CommentEvents::At))
                    .col(string_null(CommentEvents::UnitCode))
                    .col(string_null(CommentEvents::FromUnitCode))
                    .col(big_integer_null(CommentEvents::ActorId))
                    .col(text_null(CommentEvents::Note))
                    .foreign_key(&mut comment_fk("fk_comment_events_comment", CommentEvents::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_comment_events_comment",
                CommentEvents::Table,
                &["comment_id", "id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Responses::Table)
                    .col(big_pk_auto(Responses::Id))
                    .col(big_integer(Responses::CommentId))
                    .col(text(Responses::Body))
                    .col(string(Responses::UnitCode))
                    .col(big_integer(Responses::AuthorId))
                    .col(timestamp_with_time_zone(Responses::CreatedAt))
                    .foreign_key(&mut comment_fk("fk_responses_comment", Responses::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_responses_comment", Responses::Table, &["comment_id", "id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Supports::Table)
                    .col(big_integer(Supports::CommentId))
                    .col(big_integer(Supports::CitizenId))
                    .col(timestamp_with_time_zone(Supports::CreatedAt))
                    .primary_key(Index::create().col(Supports::CommentId).col(Supports::CitizenId))
                    .foreign_key(&mut comment_fk("fk_supports_comment", Supports::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Flags::Table)
                    .col(big_integer(Flags::CommentId))
                    .col(big_integer(Flags::CitizenId))
                    .col(string(Flags::Reason))
                    .col(timestamp_with_time_zone(Flags::CreatedAt))
                    .primary_key(Index::create().col(Flags::CommentId).col(Flags::CitizenId))
                    .foreign_key(&mut comment_fk("fk_flags_comment", Flags::Table))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Flags::Table.into_iden(),
            Supports::Table.into_iden(),
            Responses::Table.into_iden(),
            CommentEvents::Table.into_iden(),
            Comments::Table.into_iden(),
            StaffSessions::Table.into_iden(),
            Staff::Table.into_iden(),
            Citizens::Table.into_iden(),
            Categories::Table.into_iden(),
            AdminUnits::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
