//! `DeadlineRule`.

use async_graphql::{ID, Object};
use mati_domain::deadline::DeadlineRule as DomainRule;

use super::enums::AdminLevel;

/// How long units of a level have to acknowledge and answer (for one category, or all).
pub struct DeadlineRule(pub DomainRule);

fn hours(d: chrono::Duration) -> i32 {
    i32::try_from(d.num_hours()).unwrap_or(i32::MAX)
}

#[Object]
impl DeadlineRule {
    /// Level of the assigned unit.
    async fn level(&self) -> AdminLevel {
        self.0.level.into()
    }

    /// The category it is limited to; null for all.
    async fn category_code(&self) -> Option<ID> {
        self.0.category.clone().map(ID)
    }

    /// Hours from routing to acknowledgement.
    async fn acknowledge_within_hours(&self) -> i32 {
        hours(self.0.policy.acknowledge_within)
    }

    /// Hours from routing to the first response.
    async fn respond_within_hours(&self) -> i32 {
        hours(self.0.policy.respond_within)
    }
}
