//! PostgreSQL only: `comment_facts`, a narrow copy of each routed comment's statistics
//! columns (hours to first response and to resolution already computed), partitioned by
//! province and kept up to date by a trigger on `comments`. Country-wide statistics then
//! aggregate each province's partition on its own (partitionwise aggregation, in
//! parallel) instead of sorting a million wide rows. SQLite computes statistics in the
//! application and needs none of this.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Provinces get a partition each (codes 01..25); anything else lands in the default one.
const PROVINCES: u8 = 25;

const FUNCTION: &str = r"
CREATE FUNCTION mati_comment_facts() RETURNS trigger AS $$
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
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE comment_facts (
               id bigint NOT NULL, p smallint NOT NULL, commune_code varchar NOT NULL, category_code varchar NOT NULL,
               gender varchar, routed_at timestamptz NOT NULL, due_at timestamptz, acknowledged boolean NOT NULL,
               hours_to_first_response float8, hours_to_resolution float8, resolved boolean NOT NULL,
               satisfied boolean, escalated_levels integer NOT NULL,
               PRIMARY KEY (p, id)
             ) PARTITION BY LIST (p)",
        )
        .await?;
        for province in 1..=PROVINCES {
            db.execute_unprepared(&format!(
                "CREATE TABLE comment_facts_{province:02} PARTITION OF comment_facts FOR VALUES IN ({province})"
            ))
            .await?;
        }
        db.execute_unprepared("CREATE TABLE comment_facts_other PARTITION OF comment_facts DEFAULT")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_comment_facts_routed ON comment_facts (routed_at)")
            .await?;
        db.execute_unprepared(FUNCTION).await?;
        db.execute_unprepared(
            "CREATE TRIGGER comment_facts AFTER INSERT OR UPDATE OR DELETE ON comments \
             FOR EACH ROW EXECUTE FUNCTION mati_comment_facts()",
        )
        .await?;
        // Comments routed before this migration: touch them so the trigger copies them.
        db.execute_unprepared("UPDATE comments SET version = version WHERE routed_at IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS comment_facts ON comments")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS mati_comment_facts()")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS comment_facts").await?;
        Ok(())
    }
}
