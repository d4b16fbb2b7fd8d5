//! `ResponseStats`, with breakdowns by category, month and gender.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, Utc};
use mati_domain::service::{Mati, RankingOrder as DomainOrder};
use mati_domain::stats::{Grouping, ResponseStats as DomainStats};

use super::unit::{AdminUnit, Category, load_unit};
use crate::graphql::error::ToGraphql;
use crate::graphql::loaders::Loaders;

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

/// What a statistics object was computed over, so its breakdowns can be asked for.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The unit asked for.
    pub unit_code: Option<String>,
    /// Start of the period.
    pub from: Option<DateTime<Utc>>,
    /// End of the period.
    pub to: Option<DateTime<Utc>>,
    /// Only this category.
    pub category_code: Option<String>,
}

/// Which group of a breakdown this is.
#[derive(Debug, Clone)]
enum Key {
    Category(String),
    Month(String),
    Gender(String),
}

/// Response statistics of one unit (or the country) over one period (PRODUCT.md §5).
pub struct ResponseStats {
    stats: DomainStats,
    /// Set on top-level statistics only: breakdowns of breakdowns are empty.
    scope: Option<Scope>,
    key: Option<Key>,
}

impl ResponseStats {
    /// Top-level statistics over `scope`.
    pub fn new(stats: DomainStats, scope: Scope) -> Self {
        Self {
            stats,
            scope: Some(scope),
            key: None,
        }
    }

    /// A row of a list (by child, ranking) without breakdowns.
    pub fn row(stats: DomainStats) -> Self {
        Self {
            stats,
            scope: None,
            key: None,
        }
    }

    async fn breakdown(&self, ctx: &Context<'_>, grouping: Grouping) -> async_graphql::Result<Vec<ResponseStats>> {
        let Some(scope) = &self.scope else {
            return Ok(Vec::new());
        };
        let mati = ctx.data::<Mati>()?;
        let groups = mati
            .response_stats_breakdown(
                scope.unit_code.as_deref(),
                scope.from,
                scope.to,
                scope.category_code.as_deref(),
                grouping,
            )
            .await
            .gql()?;
        Ok(groups
            .into_iter()
            .map(|(key, stats)| ResponseStats {
                stats,
                scope: None,
                key: Some(match grouping {
                    Grouping::Category => Key::Category(key),
                    Grouping::Month => Key::Month(key),
                    _ => Key::Gender(key),
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

    /// In a `byGender` breakdown: FEMALE, MALE, OTHER or UNDECLARED.
    async fn gender(&self) -> Option<&str> {
        match &self.key {
            Some(Key::Gender(gender)) => Some(gender),
            _ => None,
        }
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

    /// Of them, those whose resolution the citizen rated.
    async fn rated(&self) -> i32 {
        int(self.stats.rated)
    }

    /// Satisfied ratings / ratings; null when nothing was rated.
    async fn satisfaction_rate(&self) -> Option<f64> {
        self.stats.satisfaction_rate
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
    async fn by_category(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ResponseStats>> {
        self.breakdown(ctx, Grouping::Category).await
    }

    /// The same counters per month of routing (on top-level statistics).
    async fn by_month(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ResponseStats>> {
        self.breakdown(ctx, Grouping::Month).await
    }

    /// The same counters per self-declared gender of the submitter (on top-level statistics).
    async fn by_gender(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ResponseStats>> {
        self.breakdown(ctx, Grouping::Gender).await
    }
}
