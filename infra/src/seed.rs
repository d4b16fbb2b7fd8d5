//! Synthetic comments for benchmarks and demonstrations: routed comments spread over
//! every commune and category, the last 365 days, with realistic shares of answered,
//! resolved, rated and overdue ones. Generated inside the database (PostgreSQL or
//! SQLite) in batches, so a million take seconds, not an hour of round trips.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Db;

/// Comments per INSERT … SELECT.
pub const BATCH: u64 = 100_000;

/// Inserts `count` comments in batches, calling `progress(done)` after each.
pub async fn comments(db: &Db, count: u64, mut progress: impl FnMut(u64)) -> anyhow::Result<()> {
    let backend = db.backend();
    let (seed, now) = match backend {
        DbBackend::Postgres => (SEED, "now()"),
        _ => (SEED_SQLITE, "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"),
    };
    db.conn()
        .execute_unprepared(&format!(
            "INSERT INTO citizens (token_digest, created_at) \
             SELECT 'seed', {now} WHERE NOT EXISTS (SELECT 1 FROM citizens WHERE token_digest = 'seed')"
        ))
        .await?;
    let start: i64 = {
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                backend,
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
                backend,
                seed,
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
  resolved_at, satisfied, ratings, satisfied_ratings, reopen_count, support_count, version, escalated_levels, hidden)
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
       CASE WHEN s.r1 < 0.25 THEN 1 ELSE 0 END,
       CASE WHEN s.r1 < 0.25 AND s.r2 < 0.6 THEN 1 ELSE 0 END,
       0, 0, 1, 0, false
FROM shaped s, communes, cats, author
";

/// The same for SQLite: times as RFC 3339 text, draws from `random()` (materialised, or
/// SQLite would draw anew at every use), first responses spread evenly over four days
/// (SQLite may lack `ln`).
const SEED_SQLITE: &str = "
WITH RECURSIVE
     series(g) AS (SELECT ?1 UNION ALL SELECT g + 1 FROM series WHERE g < ?2),
     communes AS (SELECT code, row_number() OVER (ORDER BY code) - 1 AS n FROM admin_units WHERE level = 'COMMUNE'),
     cats AS (SELECT code, row_number() OVER (ORDER BY code) - 1 AS n FROM categories),
     sizes AS (SELECT (SELECT count(*) FROM communes) AS communes, (SELECT count(*) FROM cats) AS cats),
     author AS (SELECT id FROM citizens WHERE token_digest = 'seed' LIMIT 1),
     draws AS MATERIALIZED (
       SELECT g, (abs(random()) % 1000000) / 1000000.0 AS r1, (abs(random()) % 1000000) / 1000000.0 AS r2,
              abs(random()) % (SELECT communes FROM sizes) AS commune,
              julianday('now') - (abs(random()) % 1000000) / 1000000.0 * 365 AS routed
       FROM series
     ),
     shaped AS (
       SELECT d.*, d.routed - 2 / 24.0 AS created,
              CASE WHEN d.r1 < 0.7 THEN d.routed + d.r2 * 4 END AS first_response
       FROM draws d
     )
INSERT INTO comments (tracking_code, body, category_code, commune_code, status, assigned_unit, is_public,
  author_id, gender, created_at, routed_at, ack_due_at, due_at, acknowledged_at, first_response_at,
  resolved_at, satisfied, ratings, satisfied_ratings, reopen_count, support_count, version, escalated_levels, hidden)
SELECT 'Y' || replace(replace(printf('%07X', s.g), '0', 'W'), '1', 'X'),
       'Seeded comment ' || s.g,
       cats.code,
       communes.code,
       CASE WHEN s.r1 < 0.4 THEN 'RESOLVED' WHEN s.r1 < 0.7 THEN 'RESPONDED'
            WHEN s.r1 < 0.85 THEN 'ACKNOWLEDGED' ELSE 'ROUTED' END,
       communes.code,
       1, (SELECT id FROM author),
       CASE CAST(s.r2 * 4 AS INTEGER) WHEN 0 THEN 'FEMALE' WHEN 1 THEN 'MALE' WHEN 2 THEN 'OTHER' END,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', s.created), strftime('%Y-%m-%dT%H:%M:%S+00:00', s.routed),
       strftime('%Y-%m-%dT%H:%M:%S+00:00', s.routed + 3), strftime('%Y-%m-%dT%H:%M:%S+00:00', s.routed + 15),
       CASE WHEN s.r1 < 0.85 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', s.routed + s.r2 * 3) END,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', s.first_response),
       CASE WHEN s.r1 < 0.4 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', s.first_response + 3) END,
       CASE WHEN s.r1 < 0.25 THEN s.r2 < 0.6 END,
       CASE WHEN s.r1 < 0.25 THEN 1 ELSE 0 END,
       CASE WHEN s.r1 < 0.25 AND s.r2 < 0.6 THEN 1 ELSE 0 END,
       0, 0, 1, 0, 0
FROM shaped s
JOIN communes ON communes.n = s.commune
JOIN cats ON cats.n = s.g % (SELECT cats FROM sizes)
";
