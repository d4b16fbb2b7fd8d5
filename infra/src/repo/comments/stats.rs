//! Statistics. SQLite hands the rows to the domain, which computes them
//! ([`mati_domain::stats::group`]); PostgreSQL computes the very same numbers in one
//! aggregate query, so that a country-wide breakdown over millions of comments does not
//! travel to the application. Tests check both against hand-computed fixtures.

use chrono::{DateTime, Utc};
use mati_domain::comment::Gender;
use mati_domain::geography::AdminLevel;
use mati_domain::lifecycle::CommentStatus;
use mati_domain::stats::{self, Grouping, ResponseStats, StatsRow, StatsScope, ratio};
use mati_domain::{DomainError, DomainResult};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement, Value};

use super::SqlStore;
use crate::db::db_error;
use crate::db::entity::comment;
use crate::repo::convert;

type Row = (
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    String,
    Option<bool>,
    i32,
);

fn escalation_bit(scope: &StatsScope, grouping: Grouping) -> i32 {
    match grouping {
        Grouping::Child(level) => level.bit(),
        _ => scope.within.as_ref().map_or(0, |u| u.level().bit()),
    }
}

impl SqlStore {
    pub(super) async fn stats(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        match self.db.backend() {
            DbBackend::Postgres => self.stats_in_sql(scope, grouping).await,
            _ => {
                let rows = self.stats_rows(scope).await?;
                Ok(stats::group(scope, grouping, &rows))
            }
        }
    }

    async fn stats_rows(&self, scope: &StatsScope) -> DomainResult<Vec<StatsRow>> {
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
                Column::Satisfied,
                Column::EscalatedLevels,
            ])
            .filter(Column::RoutedAt.is_not_null());
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
        let rows: Vec<Row> = select.into_tuple().all(self.db.conn()).await.map_err(db_error)?;
        rows.into_iter()
            .filter_map(|row| {
                let routed_at = row.3?;
                Some((|| {
                    let (
                        commune,
                        category,
                        gender,
                        _,
                        due_at,
                        acknowledged_at,
                        first,
                        resolved_at,
                        status,
                        satisfied,
                        levels,
                    ) = row;
                    Ok(StatsRow {
                        commune: convert::code(&commune)?,
                        category,
                        gender: gender.as_deref().and_then(Gender::parse),
                        routed_at,
                        due_at,
                        acknowledged_at,
                        first_response_at: first,
                        resolved_at,
                        status: CommentStatus::parse(&status)
                            .ok_or_else(|| DomainError::Internal(format!("stored status {status:?} is not valid")))?,
                        satisfied,
                        escalated_levels: levels,
                    })
                })())
            })
            .collect()
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
             count(satisfied), count(*) FILTER (WHERE satisfied), \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY hours_to_first_response), \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY hours_to_first_response), \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY hours_to_resolution), \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY hours_to_resolution) \
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
        Ok(groups)
    }
}
