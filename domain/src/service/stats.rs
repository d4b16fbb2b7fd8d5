//! Statistics (PRODUCT.md §5): a unit's response figures, their breakdowns, its child
//! administrations and rankings, each counted against the caller's address when computed
//! anew.

use chrono::{DateTime, Utc};

use super::Mati;
use super::bounds::{MAX_UNITS, check_period, clamp_first};
use crate::geography::{AdminLevel, UnitCode, UnitFilter};
use crate::ports::Admit;
use crate::rate_limit::{Action, Origin};
use crate::stats::{self, Cell, Grouping, ResponseStats, StatsScope};
use crate::{DomainError, DomainResult};

/// How a ranking orders units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingOrder {
    /// Highest response rate first.
    ResponseRate,
    /// Shortest median time to the first response first.
    MedianHoursToFirstResponse,
}

/// The question statistics answer: a unit (the country when none), a period, a
/// category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    /// The unit's code (a commune, district or province).
    pub unit_code: Option<String>,
    /// Start of the period, moved back to the start of its day in Cambodia.
    pub from: Option<DateTime<Utc>>,
    /// End of the period (exclusive), moved on to the end of its day in Cambodia.
    pub to: Option<DateTime<Utc>>,
    /// Only comments of this category.
    pub category_code: Option<String>,
}

impl Mati {
    /// PRODUCT.md §5 for a unit (the country when none), a period and a category.
    pub async fn response_stats(&self, filter: &StatsFilter, origin: &Origin) -> DomainResult<ResponseStats> {
        let scope = self.stats_scope(filter).await?;
        let groups = self.aggregate(&scope, Grouping::Total, origin).await?;
        let mut stats = groups.first().map(|(_, s)| s.clone()).unwrap_or_default();
        stats.unit = scope.within;
        Ok(stats)
    }

    /// The same statistics broken down by category or month (not by a personal
    /// attribute: see [`Mati::response_stats_by_gender`]).
    pub async fn response_stats_breakdown(
        &self,
        filter: &StatsFilter,
        grouping: Grouping,
        origin: &Origin,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        if grouping.is_personal() {
            return Err(DomainError::Internal(format!(
                "{grouping:?} is a personal attribute; its groups must be suppressed"
            )));
        }
        let scope = self.stats_scope(filter).await?;
        Ok(self.aggregate(&scope, grouping, origin).await?.to_vec())
    }

    /// The same statistics by the submitter's self-declared gender, every gender listed;
    /// a group too small to show someone safely is suppressed (none), never a small count.
    pub async fn response_stats_by_gender(&self, filter: &StatsFilter, origin: &Origin) -> DomainResult<Vec<Cell>> {
        let scope = self.stats_scope(filter).await?;
        let groups = self.aggregate(&scope, Grouping::Gender, origin).await?;
        Ok(stats::suppress(groups.to_vec(), self.rules.min_group_size))
    }

    /// One row per child administration of the unit (per province for the country).
    pub async fn response_stats_by_child(
        &self,
        filter: &StatsFilter,
        origin: &Origin,
    ) -> DomainResult<Vec<ResponseStats>> {
        let scope = self.stats_scope(filter).await?;
        let level = match &scope.within {
            None => AdminLevel::Province,
            Some(unit) => match unit.level().child() {
                Some(level) if level < AdminLevel::Village => level,
                _ => {
                    return Err(DomainError::invalid(
                        "unitCode",
                        "a commune has no child administrations; give a district or province",
                        "ឃុំសង្កាត់មិនមានអង្គភាពរងទេ",
                    ));
                }
            },
        };
        let filter = UnitFilter {
            level: Some(level),
            parent: scope.within.clone(),
            search: None,
            limit: MAX_UNITS,
        };
        let children: Vec<UnitCode> = self
            .ports
            .geography
            .list_units(&filter)
            .await?
            .into_iter()
            .map(|u| u.code)
            .collect();
        let groups = self.aggregate(&scope, Grouping::Child(level), origin).await?;
        Ok(stats::by_child(&children, groups.to_vec()))
    }

    /// The statistics of every commune inside the unit (the country when none) that
    /// received comments in the period, for a map of them.
    pub async fn response_stats_by_commune(
        &self,
        filter: &StatsFilter,
        origin: &Origin,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        let scope = self.stats_scope(filter).await?;
        let groups = self
            .aggregate(&scope, Grouping::Child(AdminLevel::Commune), origin)
            .await?;
        Ok(groups.to_vec())
    }

    /// The units of `level` that received comments in the period, best first: by
    /// response rate (then by more received), or by median hours to the first response
    /// (units without a response last).
    pub async fn response_ranking(
        &self,
        level: AdminLevel,
        order: RankingOrder,
        filter: &StatsFilter,
        first: i64,
        origin: &Origin,
    ) -> DomainResult<Vec<ResponseStats>> {
        if level == AdminLevel::Village {
            return Err(DomainError::invalid(
                "level",
                "villages have no administration",
                "ភូមិមិនមែនជាអង្គភាពរដ្ឋបាលទេ",
            ));
        }
        let limit = usize::try_from(clamp_first(first)?).unwrap_or(usize::MAX);
        let scope = self.stats_scope(filter).await?;
        let groups = self.aggregate(&scope, Grouping::Child(level), origin).await?;
        let mut ranked: Vec<ResponseStats> = groups
            .iter()
            .map(|(_, s)| s.clone())
            .filter(|s| s.received > 0)
            .collect();
        match order {
            RankingOrder::ResponseRate => ranked.sort_by(|a, b| {
                b.response_rate
                    .total_cmp(&a.response_rate)
                    .then(b.received.cmp(&a.received))
                    .then(a.unit.cmp(&b.unit))
            }),
            RankingOrder::MedianHoursToFirstResponse => ranked.sort_by(|a, b| {
                let hours = |s: &ResponseStats| s.median_hours_to_first_response.unwrap_or(f64::INFINITY);
                hours(a).total_cmp(&hours(b)).then(a.unit.cmp(&b.unit))
            }),
        }
        ranked.truncate(limit);
        Ok(ranked)
    }

    /// Asks the statistics port, counting against the caller's address only what is
    /// computed anew.
    async fn aggregate(
        &self,
        scope: &StatsScope,
        grouping: Grouping,
        origin: &Origin,
    ) -> DomainResult<std::sync::Arc<[(String, ResponseStats)]>> {
        let admit = PerAddress {
            mati: self,
            action: Action::StatsPerAddress,
            key: origin.address_key(),
        };
        self.ports.statistics.response_stats(scope, grouping, &admit).await
    }

    /// What statistics count: the unit, the period in whole days of Cambodia's time,
    /// the category, at this moment.
    async fn stats_scope(&self, filter: &StatsFilter) -> DomainResult<StatsScope> {
        check_period(filter.from, filter.to)?;
        let (from, to) = stats::whole_days(filter.from, filter.to);
        let category = match filter.category_code.as_deref() {
            Some(code) => Some(self.category("categoryCode", code).await?.code),
            None => None,
        };
        let within = match filter.unit_code.as_deref() {
            Some(raw) => Some(self.administration("unitCode", raw).await?),
            None => None,
        };
        Ok(StatsScope {
            within,
            from,
            to,
            category,
            now: self.now(),
        })
    }
}

/// A limit counted only when the store has work to do (statistics computed anew).
struct PerAddress<'a> {
    mati: &'a Mati,
    action: Action,
    key: Option<String>,
}

#[async_trait::async_trait]
impl Admit for PerAddress<'_> {
    async fn admit(&self) -> DomainResult<()> {
        self.mati.limit(self.action, self.key.clone()).await
    }
}
