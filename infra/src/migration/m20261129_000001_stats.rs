//! Counts that mean what PRODUCT.md §5 says. Two columns on comments — every rating a
//! citizen gave and the satisfied ones, since a "not satisfied" that reopens a comment
//! leaves no rating standing on it — filled from the RATED events already recorded.
//! On PostgreSQL, `comment_facts` gains them (and whether the comment was reopened),
//! and its trigger takes a comment rejected after routing out of the facts. On SQLite,
//! comments gain the microseconds from routing to the first response and to resolution,
//! kept by triggers, so that statistics sort integers instead of computing times per row.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    Ratings,
    SatisfiedRatings,
    FirstResponseMicros,
    ResolutionMicros,
}

/// SQLite's triggers that keep the times.
const TRIGGERS: [&str; 2] = ["comments_hours_insert", "comments_hours_update"];

/// Microseconds from `from` to `to`, two SQLite columns of RFC 3339 text (as sqlx
/// writes them: `2026-11-29T08:30:00.123456+00:00`): whole seconds by `strftime`, then
/// the fraction of each, exactly.
fn sqlite_micros(from: &str, to: &str) -> String {
    let fraction =
        |c: &str| format!("(CASE WHEN substr({c}, 20, 1) = '.' THEN CAST(substr({c}, 20) AS REAL) ELSE 0.0 END)");
    format!(
        "(CAST(strftime('%s', {to}) AS INTEGER) - CAST(strftime('%s', {from}) AS INTEGER)) * 1000000 \
         + CAST(round(({} - {}) * 1000000.0) AS INTEGER)",
        fraction(to),
        fraction(from)
    )
}

/// `SET` of the times of the comment `row` (`NEW` in a trigger, the table itself in the
/// backfill).
fn sqlite_micros_set(row: &str) -> String {
    format!(
        "first_response_micros = CASE WHEN {row}.routed_at IS NOT NULL AND {row}.first_response_at IS NOT NULL \
           THEN {first} END, \
         resolution_micros = CASE WHEN {row}.routed_at IS NOT NULL AND {row}.status = 'RESOLVED' \
           AND {row}.resolved_at IS NOT NULL THEN {resolution} END",
        first = sqlite_micros(&format!("{row}.routed_at"), &format!("{row}.first_response_at")),
        resolution = sqlite_micros(&format!("{row}.routed_at"), &format!("{row}.resolved_at")),
    )
}

async fn sqlite_micros_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for column in [Comments::FirstResponseMicros, Comments::ResolutionMicros] {
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(ColumnDef::new(column).big_integer())
                    .to_owned(),
            )
            .await?;
    }
    let db = manager.get_connection();
    let set = sqlite_micros_set("NEW");
    db.execute_unprepared(&format!(
        "CREATE TRIGGER {} AFTER INSERT ON comments BEGIN \
           UPDATE comments SET {set} WHERE id = NEW.id; END",
        TRIGGERS[0]
    ))
    .await?;
    db.execute_unprepared(&format!(
        "CREATE TRIGGER {} AFTER UPDATE OF routed_at, first_response_at, resolved_at, status ON comments BEGIN \
           UPDATE comments SET {set} WHERE id = NEW.id; END",
        TRIGGERS[1]
    ))
    .await?;
    db.execute_unprepared(&format!(
        "UPDATE comments SET {} WHERE routed_at IS NOT NULL",
        sqlite_micros_set("comments")
    ))
    .await?;
    Ok(())
}

/// The trigger of `m20261123_000005_comment_facts`, with ratings and reopenings, and
/// without rejected comments.
const FUNCTION: &str = r"
CREATE OR REPLACE FUNCTION mati_comment_facts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM comment_facts WHERE id = OLD.id;
    RETURN NULL;
  END IF;
  IF NEW.routed_at IS NULL THEN
    RETURN NULL;
  END IF;
  IF NEW.status = 'REJECTED' THEN
    DELETE FROM comment_facts WHERE p = left(NEW.commune_code, 2)::smallint AND id = NEW.id;
    RETURN NULL;
  END IF;
  INSERT INTO comment_facts (id, p, commune_code, category_code, gender, routed_at, due_at, acknowledged,
                             hours_to_first_response, hours_to_resolution, resolved, satisfied, escalated_levels,
                             ratings, satisfied_ratings, reopened)
  VALUES (NEW.id, left(NEW.commune_code, 2)::smallint, NEW.commune_code, NEW.category_code, NEW.gender,
          NEW.routed_at, NEW.due_at, NEW.acknowledged_at IS NOT NULL,
          EXTRACT(EPOCH FROM (NEW.first_response_at - NEW.routed_at))::float8 / 3600.0,
          CASE WHEN NEW.status = 'RESOLVED' THEN EXTRACT(EPOCH FROM (NEW.resolved_at - NEW.routed_at))::float8 / 3600.0 END,
          NEW.status = 'RESOLVED', NEW.satisfied, NEW.escalated_levels,
          NEW.ratings, NEW.satisfied_ratings, NEW.reopen_count > 0)
  ON CONFLICT (p, id) DO UPDATE SET
    commune_code = EXCLUDED.commune_code, category_code = EXCLUDED.category_code, gender = EXCLUDED.gender,
    routed_at = EXCLUDED.routed_at, due_at = EXCLUDED.due_at, acknowledged = EXCLUDED.acknowledged,
    hours_to_first_response = EXCLUDED.hours_to_first_response, hours_to_resolution = EXCLUDED.hours_to_resolution,
    resolved = EXCLUDED.resolved, satisfied = EXCLUDED.satisfied, escalated_levels = EXCLUDED.escalated_levels,
    ratings = EXCLUDED.ratings, satisfied_ratings = EXCLUDED.satisfied_ratings, reopened = EXCLUDED.reopened;
  RETURN NULL;
END $$ LANGUAGE plpgsql";

/// The trigger as `m20261123_000005_comment_facts` made it, for `down`.
const PREVIOUS_FUNCTION: &str = r"
CREATE OR REPLACE FUNCTION mati_comment_facts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM comment_facts WHERE id = OLD.id;
    RETURN NULL;
  END IF;
  IF NEW.routed_at IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO comment_facts (id, p, commune_code, category_code, gender, routed_at, due_at, acknowledged,
                             hours_to_first_response, hours_to_resolution, resolved, satisfied, escalated_levels)
  VALUES (NEW.id, left(NEW.commune_code, 2)::smallint, NEW.commune_code, NEW.category_code, NEW.gender,
          NEW.routed_at, NEW.due_at, NEW.acknowledged_at IS NOT NULL,
          EXTRACT(EPOCH FROM (NEW.first_response_at - NEW.routed_at))::float8 / 3600.0,
          CASE WHEN NEW.status = 'RESOLVED' THEN EXTRACT(EPOCH FROM (NEW.resolved_at - NEW.routed_at))::float8 / 3600.0 END,
          NEW.status = 'RESOLVED', NEW.satisfied, NEW.escalated_levels)
  ON CONFLICT (p, id) DO UPDATE SET
    commune_code = EXCLUDED.commune_code, category_code = EXCLUDED.category_code, gender = EXCLUDED.gender,
    routed_at = EXCLUDED.routed_at, due_at = EXCLUDED.due_at, acknowledged = EXCLUDED.acknowledged,
    hours_to_first_response = EXCLUDED.hours_to_first_response, hours_to_resolution = EXCLUDED.hours_to_resolution,
    resolved = EXCLUDED.resolved, satisfied = EXCLUDED.satisfied, escalated_levels = EXCLUDED.escalated_levels;
  RETURN NULL;
END $$ LANGUAGE plpgsql";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [Comments::Ratings, Comments::SatisfiedRatings] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Comments::Table)
                        .add_column(ColumnDef::new(column).integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE comments SET \
               ratings = (SELECT count(*) FROM comment_events e \
                          WHERE e.comment_id = comments.id AND e.kind = 'RATED'), \
               satisfied_ratings = (SELECT count(*) FROM comment_events e \
                          WHERE e.comment_id = comments.id AND e.kind = 'RATED' AND e.note = 'satisfied') \
             WHERE EXISTS (SELECT 1 FROM comment_events e WHERE e.comment_id = comments.id AND e.kind = 'RATED')",
        )
        .await?;
        if manager.get_database_backend() != DbBackend::Postgres {
            return sqlite_micros_up(manager).await;
        }
        db.execute_unprepared(
            "ALTER TABLE comment_facts ADD COLUMN ratings integer NOT NULL DEFAULT 0, \
             ADD COLUMN satisfied_ratings integer NOT NULL DEFAULT 0, \
             ADD COLUMN reopened boolean NOT NULL DEFAULT false",
        )
        .await?;
        db.execute_unprepared(FUNCTION).await?;
        // Every routed comment through the new trigger: ratings copied, rejected ones out.
        db.execute_unprepared("UPDATE comments SET version = version WHERE routed_at IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let db = manager.get_connection();
            for trigger in TRIGGERS {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                    .await?;
            }
            for column in [Comments::ResolutionMicros, Comments::FirstResponseMicros] {
                manager
                    .alter_table(Table::alter().table(Comments::Table).drop_column(column).to_owned())
                    .await?;
            }
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(PREVIOUS_FUNCTION).await?;
            db.execute_unprepared(
                "ALTER TABLE comment_facts DROP COLUMN IF EXISTS reopened, \
                 DROP COLUMN IF EXISTS satisfied_ratings, DROP COLUMN IF EXISTS ratings",
            )
            .await?;
            // The rejected comments the new trigger took out come back, as before.
            db.execute_unprepared("UPDATE comments SET version = version WHERE routed_at IS NOT NULL")
                .await?;
        }
        for column in [Comments::SatisfiedRatings, Comments::Ratings] {
            manager
                .alter_table(Table::alter().table(Comments::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
