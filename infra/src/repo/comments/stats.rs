//! Statistics, computed where the rows are: one aggregate statement per question, so
//! that a breakdown over millions of comments never travels to the application.
//! PostgreSQL aggregates `comment_facts` (a narrow copy partitioned by province, see its
//! migration) with `percentile_disc`; SQLite aggregates `comments` and picks the
//! nearest-rank percentiles from the hours its triggers keep, sorted. Comments rejected after routing count
//! in neither (SQLite filters them; PostgreSQL's trigger takes them out of
//! `comment_facts`). The definitions are the domain's ([`mati_domain::stats`]); tests
//! check both databases against hand-computed fixtures.

use std::collections::HashMap;

use mati_domain::DomainResult;
use mati_domain::geography::AdminLevel;
use mati_domain::stats::{self, Grouping, ResponseStats, StatsScope, ratio};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use super::SqlStore;
use crate::Db;
use crate::db::db_error;
use crate::repo::convert;

fn escalation_bit(scope: &StatsScope, grouping: Grouping) -> i32 {
    match grouping {
        Grouping::Child(level) => level.bit(),
        _ => scope.within.as_ref().map_or(0, |u| u.level().bit()),
    }
}

impl SqlStore {
    /// The statistics of `scope` under `grouping`, computed now (callers go through the
    /// heavy-read gate: [`crate::statistics::SharedStatistics`]).
    pub(crate) async fn stats(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        if self.db.backend() != DbBackend::Postgres {
            return self.stats_in_sqlite(scope, grouping).await;
        }
        // Partitionwise aggregation and no JIT are set on every PostgreSQL connection.
        // Public statistics may be a moment behind: the read replica's, when it serves.
        let statement = postgres(scope, grouping);
        let read = |db: Db| {
            let statement = statement.clone();
            async move { db.conn().query_all_raw(statement).await }
        };
        let rows = self.reads.run(read).await.map_err(db_error)?;
        groups(rows, scope, grouping)
    }

    /// SQLite: the counters in one aggregate, then, for each pair of percentiles, every
    /// group's times sorted into one text by SQLite (the microseconds its triggers keep,
    /// see the migration `m20261129_000001_stats`), from which the two ranks are picked:
    /// a few bytes per answered comment instead of a row each.
    async fn stats_in_sqlite(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        let question = SqliteQuestion::new(scope, grouping);
        let rows = self
            .db
            .conn()
            .query_all_raw(question.counters())
            .await
            .map_err(db_error)?;
        let mut groups = groups(rows, scope, grouping)?;
        for column in ["first_response_micros", "resolution_micros"] {
            let rows = self
                .db
                .conn()
                .query_all_raw(question.times(column))
                .await
                .map_err(db_error)?;
            let mut picked: HashMap<String, (Option<f64>, Option<f64>)> = HashMap::with_capacity(rows.len());
            for row in rows {
                let key: String = row.try_get_by_index(0).map_err(db_error)?;
                let times: String = row.try_get_by_index(1).map_err(db_error)?;
                let sorted: Vec<i64> = times.split(',').filter_map(|t| t.parse().ok()).collect();
                let at = |p: f64| {
                    stats::rank(p, sorted.len())
                        .and_then(|r| sorted.get(r - 1))
                        .map(|micros| stats::hours_from_micros(*micros))
                };
                picked.insert(key, (at(50.0), at(90.0)));
            }
            for (key, stats) in &mut groups {
                let (median, p90) = picked.remove(key.as_str()).unwrap_or_default();
                if column == "first_response_micros" {
                    (stats.median_hours_to_first_response, stats.p90_hours_to_first_response) = (median, p90);
                } else {
                    (stats.median_hours_to_resolution, stats.p90_hours_to_resolution) = (median, p90);
                }
            }
        }
        Ok(groups)
    }
}

/// A statistics question in SQLite's SQL: the group key and the rows counted.
struct SqliteQuestion {
    key: String,
    /// Conditions on the rows, each with its one parameter (`?`).
    conditions: Vec<(&'static str, Value)>,
    /// The present and the escalation bit, for the counters.
    now: Value,
    bit: Value,
}

impl SqliteQuestion {
    fn new(scope: &StatsScope, grouping: Grouping) -> Self {
        let key = match grouping {
            Grouping::Total => "''".to_owned(),
            Grouping::Child(level) => {
                format!("substr(commune_code, 1, {})", level.min(AdminLevel::Commune).code_len())
            }
            Grouping::Category => "category_code".to_owned(),
            // Cambodia keeps UTC+7 all year.
            Grouping::Month => "strftime('%Y-%m', routed_at, '+7 hours')".to_owned(),
            Grouping::Gender => format!("coalesce(gender, '{}')", stats::UNDECLARED),
        };
        let mut conditions: Vec<(&'static str, Value)> = Vec::new();
        if let Some(unit) = &scope.within {
            conditions.push(("commune_code LIKE ?", format!("{}%", unit.as_str()).into()));
        }
        // Times compare as text: sqlx writes every one the same way, which sorts in time.
        if let Some(from) = scope.from {
            conditions.push(("routed_at >= ?", from.into()));
        }
        if let Some(to) = scope.to {
            conditions.push(("routed_at < ?", to.into()));
        }
        if let Some(category) = &scope.category {
            conditions.push(("category_code = ?", category.as_str().into()));
        }
        Self {
            key,
            conditions,
            now: scope.now.into(),
            bit: escalation_bit(scope, grouping).into(),
        }
    }

    /// The WHERE clause, its parameters numbered from `first`, and their values.
    fn filter(&self, first: usize) -> (String, Vec<Value>) {
        let mut sql = String::from("routed_at IS NOT NULL AND status <> 'REJECTED'");
        for (n, (condition, _)) in self.conditions.iter().enumerate() {
            sql.push_str(" AND ");
            sql.push_str(&condition.replace('?', &format!("?{}", first + n)));
        }
        (sql, self.conditions.iter().map(|(_, value)| value.clone()).collect())
    }

    /// The counters of every group, in the columns [`groups`] reads.
    fn counters(&self) -> Statement {
        let (filter, values) = self.filter(3);
        let sql = format!(
            "SELECT {key} AS k, count(*), count(first_response_at), sum(status = 'RESOLVED'), \
             sum(first_response_at IS NULL AND due_at < ?1), count(acknowledged_at), \
             sum((escalated_levels & ?2) <> 0), sum(ratings), sum(satisfied_ratings), \
             NULL, NULL, NULL, NULL, sum(reopen_count > 0) \
             FROM comments WHERE {filter} GROUP BY 1 ORDER BY 1",
            key = self.key,
        );
        let values = [self.now.clone(), self.bit.clone()].into_iter().chain(values);
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
    }

    /// Every group's times in `column`, sorted, as one comma-separated text.
    fn times(&self, column: &str) -> Statement {
        let (filter, values) = self.filter(1);
        let sql = format!(
            "SELECT {key} AS k, group_concat({column}, ',' ORDER BY {column}) FROM comments \
             WHERE {filter} AND {column} IS NOT NULL GROUP BY 1",
            key = self.key,
        );
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
    }
}

/// The PostgreSQL aggregate: columns as [`groups`] reads them.
fn postgres(scope: &StatsScope, grouping: Grouping) -> Statement {
    // `comment_facts` (see its migration) is partitioned by province: grouping by
    // province lets PostgreSQL aggregate each partition on its own, in parallel.
    // Other keys are integers where they can be: they sort far faster than text.
    let (key, group) = match grouping {
        Grouping::Total => ("''".to_owned(), "1".to_owned()),
        Grouping::Child(AdminLevel::Province) => ("lpad(p::text, 2, '0')".to_owned(), "p".to_owned()),
        Grouping::Child(level) => {
            let len = level.min(AdminLevel::Commune).code_len();
            (
                format!("lpad((left(commune_code, {len})::int)::text, {len}, '0')"),
                format!("left(commune_code, {len})::int"),
            )
        }
        Grouping::Category => ("category_code".to_owned(), "1".to_owned()),
        // Cambodia keeps UTC+7 all year.
        Grouping::Month => (
            "to_char((routed_at AT TIME ZONE 'UTC') + interval '7 hours', 'YYYY-MM')".to_owned(),
            "1".to_owned(),
        ),
        Grouping::Gender => (format!("coalesce(gender, '{}')", stats::UNDECLARED), "1".to_owned()),
    };
    let mut values: Vec<Value> = vec![scope.now.into(), escalation_bit(scope, grouping).into()];
    let mut filter = String::from("true");
    if let Some(unit) = &scope.within {
        let province = unit
            .ancestor_at(AdminLevel::Province)
            .map(|p| p.as_str().parse::<i16>().unwrap_or(-1));
        values.push(province.unwrap_or(-1).into());
        // The province first, so that only its partition is read.
        filter.push_str(&format!(" AND p = ${}", values.len()));
        values.push(format!("{}%", unit.as_str()).into());
        filter.push_str(&format!(" AND commune_code LIKE ${}", values.len()));
    }
    if let Some(from) = scope.from {
        values.push(from.into());
        filter.push_str(&format!(" AND routed_at >= ${}", values.len()));
    }
    if let Some(to) = scope.to {
        values.push(to.into());
        filter.push_str(&format!(" AND routed_at < ${}", values.len()));
    }
    if let Some(category) = &scope.category {
        values.push(category.as_str().into());
        filter.push_str(&format!(" AND category_code = ${}", values.len()));
    }
    // percentile_disc is the nearest-rank percentile; like every aggregate it skips
    // NULLs, i.e. the comments without a response (or not resolved).
    let sql = format!(
        "SELECT {key} AS k, count(*), count(hours_to_first_response), \
         count(*) FILTER (WHERE resolved), \
         count(*) FILTER (WHERE hours_to_first_response IS NULL AND due_at < $1), \
         count(*) FILTER (WHERE acknowledged), count(*) FILTER (WHERE (escalated_levels & $2) <> 0), \
         coalesce(sum(ratings), 0)::bigint, coalesce(sum(satisfied_ratings), 0)::bigint, \
         percentile_disc(0.5) WITHIN GROUP (ORDER BY hours_to_first_response), \
         percentile_disc(0.9) WITHIN GROUP (ORDER BY hours_to_first_response), \
         percentile_disc(0.5) WITHIN GROUP (ORDER BY hours_to_resolution), \
         percentile_disc(0.9) WITHIN GROUP (ORDER BY hours_to_resolution), \
         count(*) FILTER (WHERE reopened) \
         FROM comment_facts WHERE {filter} GROUP BY {group} ORDER BY 1"
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The groups of an aggregate's rows: key, received, responded, resolved, overdue,
/// acknowledged, escalated away, rated, satisfied, median and p90 hours to the first
/// response, then to resolution, reopened.
fn groups(
    rows: Vec<QueryResult>,
    scope: &StatsScope,
    grouping: Grouping,
) -> DomainResult<Vec<(String, ResponseStats)>> {
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |i: usize| -> DomainResult<u64> {
            let n: Option<i64> = row.try_get_by_index(i).map_err(db_error)?;
            Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or_default())
        };
        let float = |i: usize| -> DomainResult<Option<f64>> { row.try_get_by_index(i).map_err(db_error) };
        let key: String = row.try_get_by_index(0).map_err(db_error)?;
        let (received, responded, rated, satisfied) = (get(1)?, get(2)?, get(7)?, get(8)?);
        let unit = match grouping {
            Grouping::Child(_) => convert::code(&key).ok(),
            _ => scope.within.clone(),
        };
        groups.push((
            key,
            ResponseStats {
                unit,
                received,
                responded,
                response_rate: ratio(responded, received),
                resolved: get(3)?,
                overdue: get(4)?,
                acknowledged: get(5)?,
                escalated_away: get(6)?,
                rated,
                satisfied,
                satisfaction_rate: (rated > 0).then(|| ratio(satisfied, rated)),
                reopened: get(13)?,
                median_hours_to_first_response: float(9)?,
                p90_hours_to_first_response: float(10)?,
                median_hours_to_resolution: float(11)?,
                p90_hours_to_resolution: float(12)?,
            },
        ));
    }
    if grouping == Grouping::Total && groups.is_empty() {
        groups.push((
            String::new(),
            ResponseStats {
                unit: scope.within.clone(),
                ..ResponseStats::default()
            },
        ));
    }
    Ok(stats::with_every_key(scope, grouping, groups))
}
