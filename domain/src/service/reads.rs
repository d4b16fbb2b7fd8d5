//! Reading: the gazetteer, categories, comments, listings and statistics.

use chrono::{DateTime, Utc};

use super::Mati;
use crate::auth::{Principal, Role};
use crate::category::Category;
use crate::comment::{Comment, CommentId};
use crate::geography::{AdminLevel, AdminUnit, UnitCode, UnitFilter};
use crate::lifecycle::CommentStatus;
use crate::ports::{CommentQuery, Page, PageRequest, Visibility};
use crate::rate_limit::{Action, Origin};
use crate::stats::{self, Grouping, ResponseStats, StatsScope};
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

    /// How many comments a listing holds.
    pub async fn count(&self, query: &CommentQuery) -> DomainResult<u64> {
        self.ports.comments.count(query).await
    }

    /// PRODUCT.md §5 for a unit (the country when none) and a period.
    pub async fn response_stats(
        &self,
        unit_code: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        category_code: Option<&str>,
    ) -> DomainResult<ResponseStats> {
        let scope = self.stats_scope(unit_code, from, to, category_code).await?;
        let mut groups = self.ports.comments.response_stats(&scope, Grouping::Total).await?;
        let mut stats = groups.pop().map(|(_, s)| s).unwrap_or_default();
        stats.unit = scope.within;
        Ok(stats)
    }

    /// The same statistics broken down by category, month or gender.
    pub async fn response_stats_breakdown(
        &self,
        unit_code: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        category_code: Option<&str>,
        grouping: Grouping,
    ) -> DomainResult<Vec<(String, ResponseStats)>> {
        let scope = self.stats_scope(unit_code, from, to, category_code).await?;
        self.ports.comments.response_stats(&scope, grouping).await
    }

    /// One row per child administration of the unit (per province for the country).
    pub async fn response_stats_by_child(
        &self,
        unit_code: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        category_code: Option<&str>,
    ) -> DomainResult<Vec<ResponseStats>> {
        let scope = self.stats_scope(unit_code, from, to, category_code).await?;
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
        let groups = self
            .ports
            .comments
            .response_stats(&scope, Grouping::Child(level))
            .await?;
        Ok(stats::by_child(&children, groups))
    }

    /// The units of `level` that received comments in the period, best first: by
    /// response rate (then by more received), or by median hours to the first response
    /// (units without a response last).
    pub async fn response_ranking(
        &self,
        level: AdminLevel,
        order: RankingOrder,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: i64,
    ) -> DomainResult<Vec<ResponseStats>> {
        if level == AdminLevel::Village {
            return Err(DomainError::invalid(
                "level",
                "villages have no administration",
                "ភូមិមិនមែនជាអង្គភាពរដ្ឋបាលទេ",
            ));
        }
        let limit = usize::try_from(clamp_first(first)?).unwrap_or(usize::MAX);
        let scope = self.stats_scope(None, from, to, None).await?;
        let groups = self
            .ports
            .comments
            .response_stats(&scope, Grouping::Child(level))
            .await?;
        let mut ranked: Vec<ResponseStats> = groups.into_iter().map(|(_, s)| s).filter(|s| s.received > 0).collect();
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

    async fn stats_scope(
        &self,
        unit_code: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        category_code: Option<&str>,
    ) -> DomainResult<StatsScope> {
        check_period(from, to)?;
        let category = match category_code {
            Some(code) => Some(self.category("categoryCode", code).await?.code),
            None => None,
        };
        Ok(StatsScope {
            within: self.stats_unit(unit_code).await?,
            from,
            to,
            category,
            now: self.now(),
        })
    }

    async fn stats_unit(&self, raw: Option<&str>) -> DomainResult<Option<UnitCode>> {
        match raw {
            Some(raw) => Ok(Some(self.administration("unitCode", raw).await?)),
            None => Ok(None),
        }
    }
}

pub(super) fn check_period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> DomainResult<()> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(DomainError::invalid(
            "to",
            "must be later than from",
            "កាលបរិច្ឆេទបញ្ចប់ត្រូវនៅក្រោយកាលបរិច្ឆេទចាប់ផ្តើម",
        )),
        _ => Ok(()),
    }
}
