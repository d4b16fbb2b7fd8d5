//! Reading: the gazetteer, categories, comments and listings.

use super::Mati;
use super::bounds::{MAX_UNITS, clamp_first};
use crate::auth::{Principal, Role};
use crate::category::Category;
use crate::comment::CommentStatus;
use crate::comment::{Comment, CommentId};
use crate::geography::{AdminLevel, AdminUnit, UnitCode, UnitFilter};
use crate::ports::{CommentQuery, Page, PageRequest, Visibility};
use crate::rate_limit::{Action, Origin};
use crate::tracking::TrackingCode;
use crate::{DomainError, DomainResult, privacy, text};

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
            ..CommentQuery::default()
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
            ..CommentQuery::default()
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
            ..CommentQuery::default()
        };
        self.listing(query, first, after).await
    }

    async fn listing(&self, query: CommentQuery, first: i64, after: Option<CommentId>) -> DomainResult<Listing> {
        let first = clamp_first(first)?;
        let page = self
            .ports
            .comments
            .page(&query, PageRequest { first, after, skip: 0 })
            .await?;
        Ok(Listing { query, page })
    }

    /// How many comments a listing holds: an aggregate, counted against the caller's
    /// address like statistics.
    pub async fn count(&self, query: &CommentQuery, origin: &Origin) -> DomainResult<u64> {
        self.limit(Action::StatsPerAddress, origin.address_key()).await?;
        self.ports.comments.count(query).await
    }
}
