//! The root query.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use mati_domain::auth::Principal;
use mati_domain::comment::CommentId;
use mati_domain::service::{CommentFilter, InboxFilter, StatsFilter};
use mati_domain::{DomainError, DomainResult};

use super::error::ToGraphql;
use super::limits::{AGGREGATE_COST, CHILDREN_COST, DEFAULT_NEARBY, DEFAULT_PAGE, connection_cost, page_cost};
use super::loaders::{Loaders, Wanted};
use super::types::comment::Comment;
use super::types::connection::{CommentConnection, parse_cursor};
use super::types::deadline::DeadlineRule;
use super::types::enums::{AdminLevel, CommentStatus};
use super::types::session::ApiKey;
use super::types::stats::{RankingOrder, ResponseStats};
use super::types::unit::{AdminUnit, Category, CommunesNear};
use super::{context, origin};

/// Reads.
pub struct Query;

/// A comment id sent as `field`.
pub fn comment_id(field: &str, id: &ID) -> DomainResult<CommentId> {
    id.parse()
        .map_err(|_| DomainError::invalid(field, "is not a comment id", "លេខសម្គាល់មតិមិនត្រឹមត្រូវ"))
}

fn after(raw: Option<String>) -> DomainResult<Option<CommentId>> {
    raw.as_deref().map(parse_cursor).transpose()
}

/// Comments as `viewer` sees them, with what their selection needs loaded at once.
pub async fn comments_for(
    ctx: &Context<'_>,
    comments: Vec<mati_domain::comment::Comment>,
    viewer: &Principal,
) -> async_graphql::Result<Vec<Comment>> {
    let wanted = Wanted::of(&ctx.look_ahead());
    ctx.data::<Loaders>()?.prefetch(&comments, wanted).await.gql()?;
    Ok(comments.into_iter().map(|c| Comment::for_viewer(c, viewer)).collect())
}

#[Object]
impl Query {
    /// Units by level, parent and a search on Khmer name, English name (any case) or
    /// code prefix; ordered by code.
    async fn admin_units(
        &self,
        ctx: &Context<'_>,
        level: Option<AdminLevel>,
        parent_code: Option<ID>,
        search: Option<String>,
    ) -> async_graphql::Result<Vec<AdminUnit>> {
        let (mati, _) = context(ctx)?;
        let units = mati
            .admin_units(
                level.map(Into::into),
                parent_code.as_ref().map(|c| c.as_str()),
                search.as_deref(),
            )
            .await
            .gql()?;
        Ok(units.into_iter().map(AdminUnit).collect())
    }

    /// One unit by code.
    async fn admin_unit(&self, ctx: &Context<'_>, code: ID) -> async_graphql::Result<Option<AdminUnit>> {
        let (mati, _) = context(ctx)?;
        Ok(mati.admin_unit(&code).await.gql()?.map(AdminUnit))
    }

    /// The `first` communes (1 to 20; more are cut to 20) whose approximate centres are
    /// nearest to a position, nearest first, and the communes of their districts that
    /// have no known centre. A position outside Cambodia is refused (BAD_USER_INPUT on
    /// `lat` or `long`), as is a `first` below 1.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn communes_near(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude, degrees north (WGS 84).")] lat: f64,
        #[graphql(desc = "Longitude, degrees east (WGS 84).")] long: f64,
        #[graphql(default_with = "Some(DEFAULT_NEARBY)")] first: Option<i32>,
    ) -> async_graphql::Result<CommunesNear> {
        let (mati, _) = context(ctx)?;
        let near = mati
            .communes_near(lat, long, first.unwrap_or(DEFAULT_NEARBY).into())
            .await
            .gql()?;
        // The centres are known: a `centre` selected on these communes needs no query.
        let known = near.communes.iter().map(|c| (c.unit.code.clone(), c.centre.clone()));
        ctx.data::<Loaders>()?.centres.feed_many(known).await;
        Ok(CommunesNear(near))
    }

    /// Every category.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let (mati, _) = context(ctx)?;
        Ok(mati.categories().await.gql()?.into_iter().map(Category).collect())
    }

    /// Approved comments, newest first: public ones, and private ones for those allowed
    /// to see them. `unitCode` keeps the comments whose commune lies inside the unit (a
    /// province, district or commune), or, for a village, the comments tagged with it.
    #[graphql(complexity = "connection_cost(first, child_complexity, __field)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        unit_code: Option<ID>,
        status: Option<CommentStatus>,
        category_code: Option<ID>,
        #[graphql(default_with = "Some(DEFAULT_PAGE)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CommentConnection> {
        let (mati, viewer) = context(ctx)?;
        let filter = CommentFilter {
            unit_code: unit_code.map(|c| c.0),
            status: status.map(Into::into),
            category_code: category_code.map(|c| c.0),
        };
        let after = self::after(after).gql()?;
        let listing = mati
            .comments(viewer, filter, first.unwrap_or(DEFAULT_PAGE).into(), after)
            .await
            .gql()?;
        Ok(CommentConnection::new(listing, viewer.clone()))
    }

    /// A comment by id, if the caller may see it.
    async fn comment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Comment>> {
        let (mati, viewer) = context(ctx)?;
        let id = comment_id("id", &id).gql()?;
        let comment = mati.comment(viewer, id).await.gql()?;
        Ok(comment.map(|c| Comment::for_viewer(c, viewer)))
    }

    /// A comment by its tracking code: status, public responses and events for anyone
    /// holding the code.
    async fn comment_by_tracking_code(
        &self,
        ctx: &Context<'_>,
        tracking_code: String,
    ) -> async_graphql::Result<Option<Comment>> {
        let (mati, viewer) = context(ctx)?;
        let comment = mati
            .comment_by_tracking_code(&tracking_code, &origin(ctx))
            .await
            .gql()?;
        Ok(comment.map(|c| Comment::by_tracking_code(c, viewer)))
    }

    /// CITIZEN: the caller's own comments in every status (pending, rejected and
    /// private ones too), newest first.
    #[graphql(complexity = "connection_cost(first, child_complexity, __field)")]
    async fn my_comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CommentConnection> {
        let (mati, viewer) = context(ctx)?;
        let after = self::after(after).gql()?;
        let listing = mati
            .my_comments(viewer, first.unwrap_or(DEFAULT_PAGE).into(), after)
            .await
            .gql()?;
        Ok(CommentConnection::new(listing, viewer.clone()))
    }

    /// OFFICIAL: the comments currently assigned to the caller's unit, newest first.
    #[graphql(complexity = "connection_cost(first, child_complexity, __field)")]
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        status: Option<CommentStatus>,
        #[graphql(default_with = "Some(false)")] overdue_only: Option<bool>,
        #[graphql(default_with = "Some(DEFAULT_PAGE)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CommentConnection> {
        let (mati, viewer) = context(ctx)?;
        let filter = InboxFilter {
            status: status.map(Into::into),
            overdue_only: overdue_only.unwrap_or(false),
        };
        let after = self::after(after).gql()?;
        let listing = mati
            .inbox(viewer, filter, first.unwrap_or(DEFAULT_PAGE).into(), after)
            .await
            .gql()?;
        Ok(CommentConnection::new(listing, viewer.clone()))
    }

    /// MODERATOR: pending comments, oldest first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE)")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<Comment>> {
        let (mati, viewer) = context(ctx)?;
        let pending = mati
            .moderation_queue(viewer, first.unwrap_or(DEFAULT_PAGE).into())
            .await
            .gql()?;
        comments_for(ctx, pending, viewer).await
    }

    /// The units of one level that received comments in the period, ranked by response
    /// rate or by median hours to the first response.
    #[graphql(complexity = "AGGREGATE_COST + page_cost(Some(first), child_complexity)")]
    async fn response_ranking(
        &self,
        ctx: &Context<'_>,
        level: AdminLevel,
        #[graphql(default_with = "RankingOrder::ResponseRate")] order_by: RankingOrder,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(default_with = "DEFAULT_PAGE")] first: i32,
    ) -> async_graphql::Result<Vec<ResponseStats>> {
        let (mati, _) = context(ctx)?;
        let filter = StatsFilter {
            from,
            to,
            ..StatsFilter::default()
        };
        let ranked = mati
            .response_ranking(level.into(), order_by.into(), &filter, first.into(), &origin(ctx))
            .await
            .gql()?;
        Ok(ranked.into_iter().map(ResponseStats::row).collect())
    }

    /// ADMIN: the Open311 keys issued, newest first.
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        let (mati, viewer) = context(ctx)?;
        Ok(mati.api_keys(viewer).await.gql()?.into_iter().map(ApiKey).collect())
    }

    /// Staff: the deadline rules admins set (levels and categories without a rule use
    /// 3 days to acknowledge and 15 to answer).
    async fn deadline_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeadlineRule>> {
        let (mati, viewer) = context(ctx)?;
        let table = mati.deadline_rules(viewer).await.gql()?;
        Ok(table.0.into_iter().map(DeadlineRule).collect())
    }

    /// Response statistics of a unit (the country when none) for comments routed in
    /// [from, to), counted in whole days of Cambodia's time (UTC+7): `from` moves back to
    /// the start of its day, `to` on to the end of its day.
    #[graphql(complexity = "AGGREGATE_COST + child_complexity")]
    async fn response_stats(
        &self,
        ctx: &Context<'_>,
        unit_code: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(desc = "Only comments of this category.")] category_code: Option<ID>,
    ) -> async_graphql::Result<ResponseStats> {
        let (mati, _) = context(ctx)?;
        let filter = StatsFilter {
            unit_code: unit_code.map(|c| c.0),
            from,
            to,
            category_code: category_code.map(|c| c.0),
        };
        let stats = mati.response_stats(&filter, &origin(ctx)).await.gql()?;
        Ok(ResponseStats::new(stats, filter))
    }

    /// One row per child unit of `unitCode` (per province when null), over the same
    /// whole days as `responseStats`.
    #[graphql(complexity = "AGGREGATE_COST + child_complexity * CHILDREN_COST")]
    async fn response_stats_by_child(
        &self,
        ctx: &Context<'_>,
        unit_code: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(desc = "Only comments of this category.")] category_code: Option<ID>,
    ) -> async_graphql::Result<Vec<ResponseStats>> {
        let (mati, _) = context(ctx)?;
        let filter = StatsFilter {
            unit_code: unit_code.map(|c| c.0),
            from,
            to,
            category_code: category_code.map(|c| c.0),
        };
        let stats = mati.response_stats_by_child(&filter, &origin(ctx)).await.gql()?;
        Ok(stats.into_iter().map(ResponseStats::row).collect())
    }
}
