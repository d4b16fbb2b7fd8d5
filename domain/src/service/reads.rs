//! Reading: the gazetteer, categories, comments, listings and statistics.

use chrono::{DateTime, Datelike, Utc};

use super::Mati;
use crate::auth::{Principal, Role};
use crate::category::Category;
use crate::comment::{Comment, CommentId};
use crate::geography::{AdminLevel, AdminUnit, UnitCode, UnitFilter};
use crate::lifecycle::CommentStatus;
use crate::ports::{Admit, CommentQuery, Page, PageRequest, Visibility};
use crate::rate_limit::{Action, Origin};
use crate::stats::{self, Cell, Grouping, ResponseStats, StatsScope};
use crate::tracking::TrackingCode;
use crate::{DomainError, DomainResult, privacy, text};

/// The largest page a listing returns.
pub const MAX_PAGE: u64 = 100;
/// The most units a gazetteer search returns.
const MAX_UNITS: u64 = 20_000;

/// How a ranking orders units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingOrder {
    /// Highest response rate first.
    ResponseRate,
    /// Shortest median time to the first response first.
    MedianHoursToFirstResponse,
}

/// Filters of the public listing.
#[derive(Debug, Clone, Default)]
pub struct CommentFilter {
    /// Unit whose comments to list: those whose commune lies inside it, or, for a
    /// village, those tagged with it.
    pub unit_code: Option<String>,
    /// Only this status.
    pub status: Option<CommentStatus>,
    /// Only this category.
    pub category_code: Option<String>,
}

/// Filters of an official's inbox.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Only this status.
    pub status: Option<CommentStatus>,
    /// Only comments past their first-response deadline without a response.
    pub overdue_only: bool,
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

/// A listing: the query behind it (for counting) and one page.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The query, to count its comments when asked.
    pub query: CommentQuery,
    /// The page.
    pub page: Page,
}

/// Checks a page size: negative is an error; more than [`MAX_PAGE`] is cut to it.
pub(super) fn clamp_first(first: i64) -> DomainResult<u64> {
    u64::try_from(first)
        .map(|n| n.min(MAX_PAGE))
        .map_err(|_| DomainError::invalid("first", "must not be negative", "ចំនួនមិនអាចអវិជ្ជមានទេ"))
}

impl Mati {
    /// Units by level, parent and search text (Khmer, English in any case, or code prefix).
    pub async fn admin_units(
        &self,
        level: Option<AdminLevel>,
        parent: Option<&str>,
        search: Option<&str>,
    ) -> DomainResult<Vec<AdminUnit>> {
        let parent = parent.map(|raw| UnitCode::parse("parentCode", raw)).transpose()?;
        let search = search.map(|raw| text::bounded("search", raw, 1, 100)).transpose()?;
        let filter = UnitFilter {
            level,
            parent,
            search,
            limit: MAX_UNITS,
        };
        self.ports.geography.list_units(&filter).await
    }

    /// One unit, if the code is known.
    pub async fn admin_unit(&self, code: &str) -> DomainResult<Option<AdminUnit>> {
        let code = UnitCode::parse("code", code)?;
        Ok(self.ports.geography.units(&[code]).await?.into_iter().next())
    }

    /// Every category.
    pub async fn categories(&self) -> DomainResult<Vec<Category>> {
        self.ports.categories.categories().await
    }

    /// A comment the caller may see.
    pub async fn comment(&self, caller: &Principal, id: CommentId) -> DomainResult<Option<Comment>> {
        let found = self.ports.comments.get_many(&[id]).await?.into_iter().next();
        Ok(found.filter(|c| privacy::may_view(caller, c)))
    }

    /// The comment with this code, for anyone holding it: the code is the credential.
    pub async fn comment_by_tracking_code(&self, code: &str, origin: &Origin) -> DomainResult<Option<Comment>> {
        self.limit(Action::TrackPerAddress, origin.address_key()).await?;
        let code = TrackingCode::parse("trackingCode", code)?;
        self.ports.comments.by_tracking_code(&code).await
    }

    /// Approved comments, newest first: public ones for everybody, private ones too for
    /// moderators and for the officials they are assigned to.
    pub async fn comments(
        &self,
        caller: &Principal,
        filter: CommentFilter,
        first: i64,
        after: Option<CommentId>,
    ) -> DomainResult<Listing> {
        let within = match filter.unit_code.as_deref() {
            Some(raw) => Some(
                self.existing_unit("unitCode", UnitCode::parse("unitCode", raw)?)
                    .await?,
            ),
            None => None,
        };
        let category = match filter.category_code.as_deref() {
            Some(code) => Some(self.category("categoryCode", code).await?.code),
            None => None,
        };
        let visibility = if caller.is_moderator() {
            Visibility::All
        } else if let Some(unit) = caller.official_unit() {
            Visibility::PublicOrAssignedTo(unit.clone())
        } else {
            Visibility::Public
        };
        let query = CommentQuery {
            within,
            assigned_to: None,
            status: filter.status,
            category,
            visibility,
            overdue_at: None,
            author: None,
            created_from: None,
            created_before: None,
        };
        self.listing(query, first, after).await
    }

    /// The comments currently assigned to the calling official's unit.
    pub async fn inbox(
        &self,
        caller: &Principal,
        filter: InboxFilter,
        first: i64,
        after: Option<CommentId>,
    ) -> DomainResult<Listing> {
        let staff = caller.staff_with(&[Role::Official])?;
        let unit = staff
            .unit
            .clone()
            .ok_or_else(|| DomainError::forbidden("this official has no unit"))?;
        let query = CommentQuery {
            within: None,
            assigned_to: Some(unit),
            status: filter.status,
            category: None,
            visibility: Visibility::All,
            overdue_at: filter.overdue_only.then(|| self.now()),
            author: None,
            created_from: None,
            created_before: None,
        };
        self.listing(query, first, after).await
    }

    /// The calling citizen's own comments in every status (pending, rejected and
    /// private ones too), newest first.
    pub async fn my_comments(&self, caller: &Principal, first: i64, after: Option<CommentId>) -> DomainResult<Listing> {
        let author = caller.citizen()?;
        let query = CommentQuery {
            within: None,
            assigned_to: None,
            status: None,
            category: None,
            visibility: Visibility::All,
            overdue_at: None,
            author: Some(author),
            created_from: None,
            created_before: None,
        };
        self.listing(query, first, after).await
    }

    async fn listing(&self, query: CommentQuery, first: i64, after: Option<CommentId>) -> DomainResult<Listing> {
        let first = clamp_first(first)?;
        let page = self.ports.comments.page(&query, PageRequest { first, after }).await?;
        Ok(Listing { query, page })
    }

    /// How many comments a listing holds: an aggregate, counted against the caller's
    /// address like statistics.
    pub async fn count(&self, query: &CommentQuery, origin: &Origin) -> DomainResult<u64> {
        self.limit(Action::StatsPerAddress, origin.address_key()).await?;
        self.ports.comments.count(query).await
    }

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

/// The earliest and latest years a period may name.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Checks a period: each end within the years 1970 to 9999, `to` after `from`.
pub(super) fn check_period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> DomainResult<()> {
    for (field, at) in [("from", from), ("to", to)] {
        if at.is_some_and(|at| !YEARS.contains(&at.year())) {
            return Err(DomainError::invalid(
                field,
                "must be a time between the years 1970 and 9999",
                "កាលបរិច្ឆេទត្រូវនៅចន្លោះឆ្នាំ 1970 និង 9999",
            ));
        }
    }
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(DomainError::invalid(
            "to",
            "must be later than from",
            "កាលបរិច្ឆេទបញ្ចប់ត្រូវនៅក្រោយកាលបរិច្ឆេទចាប់ផ្តើម",
        )),
        _ => Ok(()),
    }
}
