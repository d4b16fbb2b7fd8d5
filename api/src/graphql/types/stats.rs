//! `ResponseStats`, with breakdowns by category, month and gender (`GenderStats`, whose
//! small groups are suppressed). Each field that aggregates costs [`AGGREGATE_COST`] in
//! a request's complexity, times the rows it may return for its selection.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, Utc};
use mati_domain::service::{Mati, RankingOrder as DomainOrder, StatsFilter};
use mati_domain::stats::{Grouping, ResponseStats as DomainStats, whole_days};

use super::unit::{AdminUnit, Category, load_unit};
use crate::graphql::error::ToGraphql;
use crate::graphql::limits::{AGGREGATE_COST, CATEGORY_ROWS, GENDER_ROWS, MONTH_ROWS};
use crate::graphql::loaders::Loaders;
use crate::graphql::origin;

/// How a ranking orders units.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingOrder {
    /// Highest response rate first.
    #[graphql(name = "RESPONSE_RATE")]
    ResponseRate,
    /// Shortest median time to the first response first.
    #[graphql(name = "MEDIAN_HOURS_TO_FIRST_RESPONSE")]
    MedianHoursToFirstResponse,
}

impl From<RankingOrder> for DomainOrder {
    fn from(order: RankingOrder) -> Self {
        match order {
            RankingOrder::ResponseRate => Self::ResponseRate,
            RankingOrder::MedianHoursToFirstResponse => Self::MedianHoursToFirstResponse,
        }
    }
}

/// Which group of a breakdown this is.
#[derive(Debug, Clone)]
enum Key {
    Category(String),
    Month(String),
}

/// Response statistics of one unit (or the country) over one period (PRODUCT.md §5).
pub struct ResponseStats {
    stats: DomainStats,
    /// Set on top-level statistics only: breakdowns of breakdowns are empty.
    filter: Option<StatsFilter>,
    key: Option<Key>,
}

impl ResponseStats {
    /// Top-level statistics of `filter`.
    pub fn new(stats: DomainStats, filter: StatsFilter) -> Self {
        Self {
            stats,
            filter: Some(filter),
            key: None,
        }
    }

    /// A row of a list (by child, ranking) without breakdowns.
    pub fn row(stats: DomainStats) -> Self {
        Self {
            stats,
            filter: None,
            key: None,
        }
    }

    async fn breakdown(&self, ctx: &Context<'_>, grouping: Grouping) -> async_graphql::Result<Vec<ResponseStats>> {
        let Some(filter) = &self.filter else {
            return Ok(Vec::new());
        };
        let mati = ctx.data::<Mati>()?;
        let groups = mati
            .response_stats_breakdown(filter, grouping, &origin(ctx))
            .await
            .gql()?;
        Ok(groups
            .into_iter()
            .map(|(key, stats)| ResponseStats {
                stats,
                filter: None,
                key: Some(match grouping {
                    Grouping::Month => Key::Month(key),
                    _ => Key::Category(key),
                }),
            })
            .collect())
    }
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[Object]
impl ResponseStats {
    /// The unit; null for the whole country.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        load_unit(ctx, self.stats.unit.clone()).await
    }

    /// In a `byCategory` breakdown: the category of this row.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let Some(Key::Category(code)) = &self.key else {
            return Ok(None);
        };
        let loaders = ctx.data::<Loaders>()?;
        Ok(loaders.categories.load_one(code.clone()).await.gql()?.map(Category))
    }

    /// In a `byMonth` breakdown: the month of routing in Cambodia's time, `YYYY-MM`.
    async fn month(&self) -> Option<&str> {
        match &self.key {
            Some(Key::Month(month)) => Some(month),
            _ => None,
        }
    }

    /// On top-level statistics: the start of the period counted, the midnight in
    /// Cambodia (UTC+7) that starts the day of `from`; null when open.
    async fn from(&self) -> Option<DateTime<Utc>> {
        self.filter.as_ref().and_then(|f| whole_days(f.from, f.to).0)
    }

    /// On top-level statistics: the end of the period counted (exclusive), the midnight
    /// in Cambodia after the day of `to`, or `to` itself when it is one; null when open.
    async fn to(&self) -> Option<DateTime<Utc>> {
        self.filter.as_ref().and_then(|f| whole_days(f.from, f.to).1)
    }

    /// Comments whose commune lies inside the unit, routed within the period.
    async fn received(&self) -> i32 {
        int(self.stats.received)
    }

    /// Of them, those with at least one official response.
    async fn responded(&self) -> i32 {
        int(self.stats.responded)
    }

    /// responded / received; 0 when nothing was received.
    async fn response_rate(&self) -> f64 {
        self.stats.response_rate
    }

    /// Of them, those resolved.
    async fn resolved(&self) -> i32 {
        int(self.stats.resolved)
    }

    /// Of them, those without a response past their first-response deadline.
    async fn overdue(&self) -> i32 {
        int(self.stats.overdue)
    }

    /// Of them, those acknowledged.
    async fn acknowledged(&self) -> i32 {
        int(self.stats.acknowledged)
    }

    /// Of them, those escalated away from the unit for want of an answer.
    async fn escalated_away(&self) -> i32 {
        int(self.stats.escalated_away)
    }

    /// The ratings their citizens gave: every rating counts, a "not satisfied" that
    /// reopened a comment too (a comment reopened and rated again counts twice).
    async fn rated(&self) -> i32 {
        int(self.stats.rated)
    }

    /// Satisfied ratings / ratings; null when nothing was rated.
    async fn satisfaction_rate(&self) -> Option<f64> {
        self.stats.satisfaction_rate
    }

    /// Of them, those the citizen reopened as not satisfied with the resolution.
    async fn reopened(&self) -> i32 {
        int(self.stats.reopened)
    }

    /// Median hours from routing to the first response (nearest rank).
    async fn median_hours_to_first_response(&self) -> Option<f64> {
        self.stats.median_hours_to_first_response
    }

    /// 90th percentile of hours from routing to the first response (nearest rank).
    async fn p90_hours_to_first_response(&self) -> Option<f64> {
        self.stats.p90_hours_to_first_response
    }

    /// Median hours from routing to resolution, over the resolved ones (nearest rank).
    async fn median_hours_to_resolution(&self) -> Option<f64> {
        self.stats.median_hours_to_resolution
    }

    /// 90th percentile of hours from routing to resolution (nearest rank).
    async fn p90_hours_to_resolution(&self) -> Option<f64> {
        self.stats.p90_hours_to_resolution
    }

    /// The same counters per category (on top-level statistics).
    #[graphql(complexity = "AGGREGATE_COST + child_complexity * CATEGORY_ROWS")]
    async fn by_category(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ResponseStats>> {
        self.breakdown(ctx, Grouping::Category).await
    }

    /// The same counters per month of routing in Cambodia's time (on top-level
    /// statistics).
    #[graphql(complexity = "AGGREGATE_COST + child_complexity * MONTH_ROWS")]
    async fn by_month(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ResponseStats>> {
        self.breakdown(ctx, Grouping::Month).await
    }

    /// The same counters per self-declared gender of the submitter (on top-level
    /// statistics): every gender listed, a group of fewer than `MATI_MIN_GROUP_SIZE`
    /// comments suppressed (and with it the next smallest when it would be the only one,
    /// so that the total gives no group back).
    #[graphql(complexity = "AGGREGATE_COST + child_complexity * GENDER_ROWS")]
    async fn by_gender(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<GenderStats>> {
        let Some(filter) = &self.filter else {
            return Ok(Vec::new());
        };
        let mati = ctx.data::<Mati>()?;
        let cells = mati.response_stats_by_gender(filter, &origin(ctx)).await.gql()?;
        Ok(cells
            .into_iter()
            .map(|(gender, stats)| GenderStats { gender, stats })
            .collect())
    }
}

/// One group of a breakdown by gender: the counters of `ResponseStats`, all null when
/// the group is suppressed because it is too small to show without singling people out.
pub struct GenderStats {
    gender: String,
    stats: Option<DomainStats>,
}

impl GenderStats {
    fn count(&self, counter: impl Fn(&DomainStats) -> u64) -> Option<i32> {
        self.stats.as_ref().map(|s| int(counter(s)))
    }

    fn value(&self, value: impl Fn(&DomainStats) -> Option<f64>) -> Option<f64> {
        self.stats.as_ref().and_then(value)
    }
}

#[Object]
impl GenderStats {
    /// FEMALE, MALE, OTHER or UNDECLARED.
    async fn gender(&self) -> &str {
        &self.gender
    }

    /// Whether the group is too small to show: then every counter is null.
    async fn suppressed(&self) -> bool {
        self.stats.is_none()
    }

    /// Comments of this group (see `ResponseStats.received`); null when suppressed.
    async fn received(&self) -> Option<i32> {
        self.count(|s| s.received)
    }

    /// Of them, those with an official response.
    async fn responded(&self) -> Option<i32> {
        self.count(|s| s.responded)
    }

    /// responded / received.
    async fn response_rate(&self) -> Option<f64> {
        self.value(|s| Some(s.response_rate))
    }

    /// Of them, those resolved.
    async fn resolved(&self) -> Option<i32> {
        self.count(|s| s.resolved)
    }

    /// Of them, those without a response past their deadline.
    async fn overdue(&self) -> Option<i32> {
        self.count(|s| s.overdue)
    }

    /// Of them, those acknowledged.
    async fn acknowledged(&self) -> Option<i32> {
        self.count(|s| s.acknowledged)
    }

    /// Ratings given (see `ResponseStats.rated`).
    async fn rated(&self) -> Option<i32> {
        self.count(|s| s.rated)
    }

    /// Satisfied ratings / ratings.
    async fn satisfaction_rate(&self) -> Option<f64> {
        self.value(|s| s.satisfaction_rate)
    }

    /// Of them, those reopened as not satisfied.
    async fn reopened(&self) -> Option<i32> {
        self.count(|s| s.reopened)
    }

    /// Median hours from routing to the first response (nearest rank).
    async fn median_hours_to_first_response(&self) -> Option<f64> {
        self.value(|s| s.median_hours_to_first_response)
    }

    /// 90th percentile of hours from routing to the first response (nearest rank).
    async fn p90_hours_to_first_response(&self) -> Option<f64> {
        self.value(|s| s.p90_hours_to_first_response)
    }
}
