//! Statistics. SQLite streams the rows to the domain's [`Grouper`], which counts them
//! as they come (memory grows with the answered comments' times, never with whole rows);
//! PostgreSQL computes the very same numbers in one aggregate query over
//! `comment_facts`, so that a country-wide breakdown over millions of comments does not
//! travel to the application. Comments rejected after routing count in neither (the
//! domain skips them; PostgreSQL's trigger takes them out of `comment_facts`). Tests
//! check both against hand-computed fixtures.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mati_domain::comment::Gender;
use mati_domain::geography::AdminLevel;
use mati_domain::lifecycle::CommentStatus;
use mati_domain::stats::{self, Grouper, Grouping, ResponseStats, StatsRow, StatsScope, ratio};
use mati_domain::{DomainError, DomainResult};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement, Value,
};

use super::SqlStore;
use crate::db::db_error;
use crate::db::entity::comment;
use crate::repo::convert;

/// The columns of a comment that statistics read.
#[derive(Debug, FromQueryResult)]
struct FactRow {
    commune_code: String,
    category_code: String,
    gender: Option<String>,
    routed_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    acknowledged_at: Option<DateTime<Utc>>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    status: String,
    ratings: i32,
    satisfied_ratings: i32,
    reopen_count: i32,
    escalated_levels: i32,
}

fn escalation_bit(scope: &StatsScope, grouping: Grouping) -> i32 {
    match grouping {
        Grouping::Child(level) => level.bit(),
        _ => scope.within.as_ref().map_or(0, |u| u.level().bit()),
    }
}

fn stats_row(row: FactRow) -> DomainResult<Option<StatsRow>> {
    let Some(routed_at) = row.routed_at else {
        return Ok(None);
    };
    let count = |n: i32| u32::try_from(n).unwrap_or_default();
    let status = CommentStatus::parse(&row.status)
        .ok_or_else(|| DomainError::Internal(format!("stored status {:?} is not valid", row.status)))?;
    Ok(Some(StatsRow {
        commune: convert::code(&row.commune_code)?,
        gender: row.gender.as_deref().and_then(Gender::parse),
        category: row.category_code,
        routed_at,
        due_at: row.due_at,
        acknowledged_at: row.acknowledged_at,
        first_response_at: row.first_response_at,
        resolved_at: row.resolved_at,
        status,
        ratings: count(row.ratings),
        satisfied_ratings: count(row.satisfied_ratings),
        reopened: row.reopen_count > 0,
        escalated_levels: row.escalated_levels,
    }))
}

impl SqlStore {
    /// The statistics of `scope` under `grouping`, computed now (callers go through the
    /// heavy-read gate: [`crate::statistics::SharedStatistics`]).
    pub(crate) async fn stats(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        match self.db.backend() {
            DbBackend::Postgres => self.stats_in_sql(scope, grouping).await,
            _ => self.stats_streamed(scope, grouping).await,
        }
    }

    async fn stats_streamed(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        use comment::Column;
        let mut select = comment::Entity::find()
            .select_only()
            .columns([
                Column::CommuneCode,
                Column::CategoryCode,
                Column::Gender,
                Column::RoutedAt,
                Column::DueAt,
                Column::AcknowledgedAt,
                Column::FirstResponseAt,
                Column::ResolvedAt,
                Column::Status,
                Column::Ratings,
                Column::SatisfiedRatings,
                Column::ReopenCount,
                Column::EscalatedLevels,
            ])
            .filter(Column::RoutedAt.is_not_null())
            .filter(Column::Status.ne(CommentStatus::Rejected.as_str()));
        if let Some(unit) = &scope.within {
            select = select.filter(Column::CommuneCode.starts_with(unit.as_str()));
        }
        if let Some(from) = scope.from {
            select = select.filter(Column::RoutedAt.gte(from));
        }
        if let Some(to) = scope.to {
            select = select.filter(Column::RoutedAt.lt(to));
        }
        if let Some(category) = &scope.category {
            select = select.filter(Column::CategoryCode.eq(category.as_str()));
        }
        let mut rows = select
            .into_model::<FactRow>()
            .stream(self.db.conn())
            .await
            .map_err(db_error)?;
        let mut grouper = Grouper::new(scope, grouping);
        while let Some(row) = rows.try_next().await.map_err(db_error)? {
            if let Some(row) = stats_row(row)? {
                grouper.add(&row);
            }
        }
        Ok(grouper.finish())
    }

    async fn stats_in_sql(&self, scope: &StatsScope, grouping: Grouping) -> DomainResult<Vec<(String, ResponseStats)>> {
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
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
        // Partitionwise aggregation and no JIT are set on every connection (see `Db`).
        let rows = self.db.conn().query_all_raw(statement).await.map_err(db_error)?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in rows {
            let get = |i: usize| -> DomainResult<u64> {
                let n: i64 = row.try_get_by_index(i).map_err(db_error)?;
                Ok(u64::try_from(n).unwrap_or_default())
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
}
