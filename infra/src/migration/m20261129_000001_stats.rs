//! Counts that mean what PRODUCT.md §5 says. Two columns on comments — every rating a
//! citizen gave and the satisfied ones, since a "not satisfied" that reopens a comment
//! leaves no rating standing on it — filled from the RATED events already recorded.
//! On PostgreSQL, `comment_facts` gains them (and whether the comment was reopened),
//! and its trigger takes a comment rejected after routing out of the facts.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    Ratings,
    SatisfiedRatings,
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
            return Ok(());
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
