//! Reading comments: by id, pages and counts of listings, the moderation queue, batched
//! events and responses (for the API's loaders), and the rows statistics are built from.

use chrono::{DateTime, Utc};
use mati_domain::DomainResult;
use mati_domain::comment::CommentStatus;
use mati_domain::comment::{Comment, CommentEvent, CommentId, EventKind, Response};
use mati_domain::geography::AdminLevel;
use mati_domain::ports::{CommentQuery, Page, PageRequest, Visibility};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};

use super::SqlStore;
use crate::Db;
use crate::db::db_error;
use crate::db::entity::{comment, comment_event, response};
use crate::repo::convert;

const PUBLISHED: [CommentStatus; 4] = [
    CommentStatus::Routed,
    CommentStatus::Acknowledged,
    CommentStatus::Responded,
    CommentStatus::Resolved,
];

fn statuses(list: &[CommentStatus]) -> impl Iterator<Item = &'static str> + '_ {
    list.iter().map(|s| s.as_str())
}

/// What the moderation queue holds: comments awaiting a first decision, and comments
/// hidden by flags, awaiting a moderator's judgement.
pub(crate) fn awaiting_moderation() -> Condition {
    Condition::any()
        .add(comment::Column::Status.eq(CommentStatus::Pending.as_str()))
        .add(comment::Column::Hidden.eq(true))
}

/// Published comments past their deadline with no first response at `now`: what
/// escalation takes up, and what metrics count as overdue.
pub(crate) fn overdue(now: DateTime<Utc>) -> Condition {
    use comment::Column;
    Condition::all()
        .add(Column::Status.is_in(statuses(&[CommentStatus::Routed, CommentStatus::Acknowledged])))
        .add(Column::FirstResponseAt.is_null())
        .add(Column::DueAt.lt(now))
}

/// The WHERE clause of a listing. Callers other than moderators only ever see published
/// comments, whatever status they ask for.
fn filtered(query: &CommentQuery) -> Select<comment::Entity> {
    use comment::Column;
    let mut select = comment::Entity::find();
    if let Some(within) = &query.within {
        select = match within.ancestor_at(AdminLevel::Commune) {
            // A village: the comments tagged with it (its commune first, for the index).
            Some(commune) if within.level() == AdminLevel::Village => select
                .filter(Column::CommuneCode.eq(commune.as_str()))
                .filter(Column::VillageCode.eq(within.as_str())),
            _ => select.filter(Column::CommuneCode.starts_with(within.as_str())),
        };
    }
    if let Some(unit) = &query.assigned_to {
        // A unit's inbox holds what it can act on: published comments only, never one
        // rejected after routing, whatever status is asked for.
        select = select
            .filter(Column::AssignedUnit.eq(unit.as_str()))
            .filter(Column::Status.is_in(statuses(&PUBLISHED)));
    }
    match query.status {
        Some(status) => select = select.filter(Column::Status.eq(status.as_str())),
        // A citizen's own listing shows every status, pending and rejected too.
        None if query.author.is_some() => {}
        None => select = select.filter(Column::Status.is_in(statuses(&PUBLISHED))),
    }
    if let Some(author) = query.author {
        select = select.filter(Column::AuthorId.eq(author.get()));
    }
    if let Some(from) = query.created_from {
        select = select.filter(Column::CreatedAt.gte(from));
    }
    if let Some(to) = query.created_before {
        select = select.filter(Column::CreatedAt.lt(to));
    }
    if let Some(category) = &query.category {
        select = select.filter(Column::CategoryCode.eq(category.as_str()));
    }
    if !query.categories.is_empty() {
        select = select.filter(Column::CategoryCode.is_in(query.categories.iter().map(String::as_str)));
    }
    if !query.ids.is_empty() {
        select = select.filter(Column::Id.is_in(query.ids.iter().map(|id| id.get())));
    }
    if !query.statuses.is_empty() {
        select = select.filter(Column::Status.is_in(statuses(&query.statuses)));
    }
    // Updated in a period: by the comment's events, the history every change leaves.
    let events_since = |at: DateTime<Utc>| {
        Expr::exists(
            sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(comment_event::Entity)
                .and_where(
                    Expr::col((comment_event::Entity, comment_event::Column::CommentId))
                        .equals((comment::Entity, Column::Id)),
                )
                .and_where(Expr::col((comment_event::Entity, comment_event::Column::At)).gte(at))
                .to_owned(),
        )
    };
    if let Some(from) = query.updated_from {
        select = select.filter(events_since(from));
    }
    if let Some(before) = query.updated_before {
        select = select.filter(events_since(before).not());
    }
    match &query.visibility {
        Visibility::All => {}
        // Comments hidden by flags leave the public listings until a moderator decides.
        Visibility::Public => {
            select = select
                .filter(Column::Status.is_in(statuses(&PUBLISHED)))
                .filter(Column::IsPublic.eq(true))
                .filter(Column::Hidden.eq(false));
        }
        Visibility::PublicOrAssignedTo(unit) => {
            select = select.filter(Column::Status.is_in(statuses(&PUBLISHED))).filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(Column::IsPublic.eq(true))
                            .add(Column::Hidden.eq(false)),
                    )
                    .add(Column::AssignedUnit.eq(unit.as_str())),
            );
        }
    }
    if let Some(at) = query.overdue_at {
        select = select
            .filter(Column::FirstResponseAt.is_null())
            .filter(Column::DueAt.lt(at))
            .filter(Column::Status.is_in(statuses(&[CommentStatus::Routed, CommentStatus::Acknowledged])));
    }
    select
}

/// Whether a listing may be read a moment behind: the public's, which nobody's own
/// writes show in at once anyway (a comment appears there once a moderator approves it).
/// A citizen's own comments, an inbox and the staff's listings read the primary.
fn may_lag(query: &CommentQuery) -> bool {
    matches!(query.visibility, Visibility::Public) && query.author.is_none() && query.assigned_to.is_none()
}

fn convert_all(rows: Vec<comment::Model>) -> DomainResult<Vec<Comment>> {
    rows.into_iter().map(convert::comment).collect()
}

impl SqlStore {
    pub(super) async fn comments_by_id(&self, ids: &[CommentId]) -> DomainResult<Vec<Comment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = comment::Entity::find()
            .filter(comment::Column::Id.is_in(ids.iter().map(|id| id.get())))
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        convert_all(rows)
    }

    pub(super) async fn comment_page(&self, query: &CommentQuery, page: PageRequest) -> DomainResult<Page> {
        let mut select = filtered(query);
        if let Some(after) = page.after {
            select = select.filter(comment::Column::Id.lt(after.get()));
        }
        // Keyset pagination on the id: a cursor stays valid however many comments arrive.
        let select = select
            .order_by_desc(comment::Column::Id)
            .offset(page.skip)
            .limit(page.first + 1);
        let mut rows = if may_lag(query) {
            let read = |db: Db| {
                let select = select.clone();
                async move { select.all(db.conn()).await }
            };
            self.reads.run(read).await
        } else {
            select.all(self.db.conn()).await
        }
        .map_err(db_error)?;
        let has_next = rows.len() as u64 > page.first;
        rows.truncate(usize::try_from(page.first).unwrap_or(usize::MAX));
        Ok(Page {
            items: convert_all(rows)?,
            has_next,
        })
    }

    pub(super) async fn comment_count(&self, query: &CommentQuery) -> DomainResult<u64> {
        let _turn = self.heavy.enter().await?;
        let select = filtered(query);
        if may_lag(query) {
            let read = |db: Db| {
                let select = select.clone();
                async move { select.count(db.conn()).await }
            };
            self.reads.run(read).await
        } else {
            select.count(self.db.conn()).await
        }
        .map_err(db_error)
    }

    pub(super) async fn pending_comments(&self, limit: u64) -> DomainResult<Vec<Comment>> {
        let rows = comment::Entity::find()
            .filter(awaiting_moderation())
            .order_by_asc(comment::Column::Id)
            .limit(limit)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        convert_all(rows)
    }

    pub(super) async fn overdue_below_province(&self, now: DateTime<Utc>, limit: u64) -> DomainResult<Vec<Comment>> {
        use comment::Column;
        let rows = comment::Entity::find()
            .filter(overdue(now))
            // Province codes have two digits; a province has nowhere to escalate to.
            .filter(Expr::expr(Func::char_length(Expr::col(Column::AssignedUnit))).gt(2))
            // Not escalated from this level before (the bit of the assigned unit's level).
            .filter(Expr::cust(
                "(escalated_levels & (CASE length(assigned_unit) WHEN 6 THEN 4 WHEN 4 THEN 2 ELSE 1 END)) = 0",
            ))
            .order_by_asc(Column::DueAt)
            .limit(limit)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        convert_all(rows)
    }

    pub(super) async fn responses_of(&self, ids: &[CommentId]) -> DomainResult<Vec<Response>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = response::Entity::find()
            .filter(response::Column::CommentId.is_in(ids.iter().map(|id| id.get())))
            .order_by_asc(response::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::response).collect()
    }

    pub(super) async fn public_events_in(
        &self,
        kinds: &[EventKind],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> DomainResult<Vec<CommentEvent>> {
        use comment_event::Column;
        let public = filtered(&CommentQuery::default())
            .select_only()
            .column(comment::Column::Id)
            .into_query();
        let select = comment_event::Entity::find()
            .filter(Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
            .filter(Column::At.gte(from))
            .filter(Column::At.lt(to))
            .filter(Column::CommentId.in_subquery(public))
            .order_by_asc(Column::At)
            .order_by_asc(Column::Id)
            .limit(limit);
        let read = |db: Db| {
            let select = select.clone();
            async move { select.all(db.conn()).await }
        };
        let rows = self.reads.run(read).await.map_err(db_error)?;
        rows.into_iter().map(convert::event).collect()
    }

    pub(super) async fn events_of(&self, ids: &[CommentId]) -> DomainResult<Vec<CommentEvent>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = comment_event::Entity::find()
            .filter(comment_event::Column::CommentId.is_in(ids.iter().map(|id| id.get())))
            .order_by_asc(comment_event::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(convert::event).collect()
    }
}
