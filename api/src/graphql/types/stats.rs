//! `ResponseStats`.

use async_graphql::{Context, Object};
use mati_domain::stats::ResponseStats as DomainStats;

use super::unit::AdminUnit;
use crate::graphql::error::ToGraphql;
use crate::graphql::loaders::Loaders;

/// Response statistics of one unit (or the country) over one period (PRODUCT.md §5).
pub struct ResponseStats(pub DomainStats);

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[Object]
impl ResponseStats {
    /// The unit; null for the whole country.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        let Some(code) = self.0.unit.clone() else {
            return Ok(None);
        };
        let loaders = ctx.data::<Loaders>()?;
        Ok(loaders.units.load_one(code).await.gql()?.map(AdminUnit))
    }

    /// Comments whose commune lies inside the unit, routed within the period.
    async fn received(&self) -> i32 {
        int(self.0.received)
    }

    /// Of them, those with at least one official response.
    async fn responded(&self) -> i32 {
        int(self.0.responded)
    }

    /// responded / received; 0 when nothing was received.
    async fn response_rate(&self) -> f64 {
        self.0.response_rate
    }

    /// Of them, those resolved.
    async fn resolved(&self) -> i32 {
        int(self.0.resolved)
    }

    /// Of them, those without a response past their first-response deadline.
    async fn overdue(&self) -> i32 {
        int(self.0.overdue)
    }

    /// Median hours from routing to the first response (nearest rank).
    async fn median_hours_to_first_response(&self) -> Option<f64> {
        self.0.median_hours_to_first_response
    }

    /// 90th percentile of hours from routing to the first response (nearest rank).
    async fn p90_hours_to_first_response(&self) -> Option<f64> {
        self.0.p90_hours_to_first_response
    }
}
