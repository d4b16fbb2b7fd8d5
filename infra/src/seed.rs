//! Synthetic comments for benchmarks and demonstrations: routed comments spread over
//! every commune and category, the last 365 days, with realistic shares of answered,
//! resolved, rated and overdue ones. Generated inside PostgreSQL in batches, so a million
//! take seconds, not an hour of round trips.

use anyhow::bail;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Db;

/// Comments per INSERT … SELECT.
pub const BATCH: u64 = 100_000;

/// Inserts `count` comments in batches, calling `progress(done)` after each.
pub async fn comments(db: &Db, count: u64, mut progress: impl FnMut(u64)) -> anyhow::Result<()> {
    if db.backend() != DbBackend::Postgres {
        bail!("seeding generates its rows inside PostgreSQL; point MATI_DATABASE_URL at one");
    }
    db.conn()
        .execute_unprepared(
            "INSERT INTO citizens (token_digest, created_at) \
             SELECT 'seed', now() WHERE NOT EXISTS (SELECT 1 FROM citizens WHERE token_digest = 'seed')",
        )
        .await?;
    let start: i64 = {
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT coalesce(max(id), 0) FROM comments",
            ))
            .await?;
        row.map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or_default()
    };
    let mut done = 0;
    while done < count {
        let size = BATCH.min(count - done);
        let first = start + i64::try_from(done)? + 1;
        let last = first + i64::try_from(size)? - 1;
        db.conn()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                SEED,
                [first.into(), last.into()],
            ))
            .await?;
        done += size;
        progress(done);
    }
    db.conn().execute_unprepared("ANALYZE comments").await?;
    Ok(())
}

/// $1..$2: the numbers of the comments to generate (they make unique tracking codes:
/// hexadecimal with 0 and 1 spelled W and X, which the tracking alphabet lacks).
const SEED: &str = "
WITH communes AS (SELECT array_agg(code ORDER BY code) AS codes FROM admin_units WHERE level = 'COMMUNE'),
     cats AS (SELECT array_agg(code ORDER BY code) AS codes FROM categories),
     author AS (SELECT id FROM citizens WHERE token_digest = 'seed' LIMIT 1),
     draws AS (
       SELECT g, random() AS r1, random() AS r2, random() AS r3,
              now() - random() * interval '365 days' AS routed
       FROM generate_series($1::bigint, $2::bigint) AS g
     ),
     shaped AS (
       SELECT d.*, d.routed - interval '2 hours' AS created,
              CASE WHEN d.r1 < 0.7 THEN d.routed + (-ln(1 - d.r2) * interval '48 hours') END AS first_response
       FROM draws d
     )
INSERT INTO comments (tracking_code, body, category_code, commune_code, status, assigned_unit, is_public,
  author_id, gender, created_at, routed_at, ack_due_at, due_at, acknowledged_at, first_response_at,
  resolved_at, satisfied, reopen_count, support_count, version, escalated_levels, hidden)
SELECT 'Y' || translate(upper(lpad(to_hex(s.g), 7, '0')), '01', 'WX'),
       'Seeded comment ' || s.g,
       cats.codes[1 + (s.g % array_length(cats.codes, 1))],
       communes.codes[1 + floor(s.r3 * array_length(communes.codes, 1))::int],
       CASE WHEN s.r1 < 0.4 THEN 'RESOLVED' WHEN s.r1 < 0.7 THEN 'RESPONDED'
            WHEN s.r1 < 0.85 THEN 'ACKNOWLEDGED' ELSE 'ROUTED' END,
       communes.codes[1 + floor(s.r3 * array_length(communes.codes, 1))::int],
       true, author.id,
       (ARRAY['FEMALE', 'MALE', 'OTHER', NULL])[1 + floor(s.r2 * 4)::int],
       s.created, s.routed, s.routed + interval '3 days', s.routed + interval '15 days',
       CASE WHEN s.r1 < 0.85 THEN s.routed + s.r2 * interval '72 hours' END,
       s.first_response,
       CASE WHEN s.r1 < 0.4 THEN s.first_response + interval '3 days' END,
       CASE WHEN s.r1 < 0.25 THEN s.r2 < 0.6 END,
       0, 0, 1, 0, false
FROM shaped s, communes, cats, author
";
