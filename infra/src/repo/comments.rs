//! Comments: submission (idempotent per citizen and clientId), lifecycle changes applied
//! atomically with their events, support and flags (judged by moderators' decisions).

mod read;
mod stats;

pub(crate) use read::{awaiting_moderation, overdue};

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mati_domain::comment::CommentStatus;
use mati_domain::comment::{
    CitizenId, Comment, CommentChange, CommentEvent, CommentId, EventKind, NewComment, NewEvent, Response,
};
use mati_domain::flag::{FlagTally, NewFlag};
use mati_domain::geography::UnitCode;
use mati_domain::ports::{Admit, CommentQuery, Comments, Inserted, Page, PageRequest};
use mati_domain::tracking::TrackingCode;
use mati_domain::{DomainError, DomainResult};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    TryInsertResult,
};

use super::{SqlStore, convert};
use crate::db::entity::{comment, comment_event, flag, outbox, response, support};
use crate::db::{db_error, detached, is_unique_violation};

fn unit(code: Option<&UnitCode>) -> Option<String> {
    code.map(|c| c.as_str().to_owned())
}

fn event_row(comment_id: CommentId, event: &NewEvent) -> comment_event::ActiveModel {
    comment_event::ActiveModel {
        comment_id: Set(comment_id.get()),
        kind: Set(event.kind.as_str().to_owned()),
        at: Set(event.at),
        unit_code: Set(unit(event.unit.as_ref())),
        from_unit_code: Set(unit(event.from_unit.as_ref())),
        actor_id: Set(event.actor.map(|id| id.get())),
        note: Set(event.note.clone()),
        ..Default::default()
    }
}

fn flagged_event(at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        kind: EventKind::Flagged,
        at,
        unit: None,
        from_unit: None,
        actor: None,
        note: None,
    }
}

/// The columns a lifecycle change may alter, with the version bumped.
fn changed_columns(after: &Comment) -> comment::ActiveModel {
    comment::ActiveModel {
        category_code: Set(after.category_code.clone()),
        status: Set(after.status.as_str().to_owned()),
        assigned_unit: Set(unit(after.assigned_unit.as_ref())),
        routed_at: Set(after.routed_at),
        ack_due_at: Set(after.ack_due_at),
        due_at: Set(after.due_at),
        acknowledged_at: Set(after.acknowledged_at),
        first_response_at: Set(after.first_response_at),
        resolved_at: Set(after.resolved_at),
        satisfied: Set(after.satisfied),
        ratings: Set(after.ratings),
        satisfied_ratings: Set(after.satisfied_ratings),
        reopen_count: Set(after.reopen_count),
        escalated_levels: Set(after.escalated_levels),
        hidden: Set(after.hidden),
        version: Set(after.version + 1),
        ..Default::default()
    }
}

async fn insert_events(txn: &impl ConnectionTrait, comment_id: CommentId, events: &[NewEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    comment_event::Entity::insert_many(events.iter().map(|e| event_row(comment_id, e)))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The comment's flags no moderator has judged: how many sessions, from how many
/// addresses.
async fn unjudged_flags(txn: &impl ConnectionTrait, id: CommentId) -> Result<FlagTally, DbErr> {
    let counts: Option<(i64, i64)> = flag::Entity::find()
        .select_only()
        .column_as(Expr::col(flag::Column::CitizenId).count(), "sessions")
        .column_as(Expr::col(flag::Column::AddressDigest).count_distinct(), "addresses")
        .filter(flag::Column::CommentId.eq(id.get()))
        .filter(flag::Column::JudgedAt.is_null())
        .into_tuple()
        .one(txn)
        .await?;
    let (sessions, addresses) = counts.unwrap_or_default();
    Ok(FlagTally {
        sessions: u64::try_from(sessions).unwrap_or_default(),
        addresses: u64::try_from(addresses).unwrap_or_default(),
    })
}

/// Marks the comment's flags raised up to `decided_at` as judged. Their addresses are
/// no longer needed (judged flags never count again), so they are erased.
async fn judge_flags(txn: &impl ConnectionTrait, id: CommentId, decided_at: DateTime<Utc>) -> Result<(), DbErr> {
    flag::Entity::update_many()
        .col_expr(flag::Column::JudgedAt, Expr::value(decided_at))
        .col_expr(flag::Column::AddressDigest, Expr::value(Option::<String>::None))
        .filter(flag::Column::CommentId.eq(id.get()))
        .filter(flag::Column::JudgedAt.is_null())
        .filter(flag::Column::CreatedAt.lte(decided_at))
        .exec(txn)
        .await?;
    Ok(())
}

/// Why a submission was not stored.
enum Refusal {
    Db(DbErr),
    Domain(DomainError),
}

impl From<DbErr> for Refusal {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl SqlStore {
    async fn find_by_client_id(&self, author: CitizenId, client_id: &str) -> DomainResult<Option<Comment>> {
        let row = comment::Entity::find()
            .filter(comment::Column::AuthorId.eq(author.get()))
            .filter(comment::Column::ClientId.eq(client_id))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        row.map(convert::comment).transpose()
    }

    /// Writes a lifecycle change in one transaction; false when the comment's version
    /// moved on meanwhile.
    async fn write_change(&self, change: &CommentChange) -> Result<bool, DbErr> {
        let _write = self.db.write_guard().await;
        let id = change.comment.id;
        let txn = self.db.conn().begin().await?;
        let updated = comment::Entity::update_many()
            .set(changed_columns(&change.comment))
            .filter(comment::Column::Id.eq(id.get()))
            .filter(comment::Column::Version.eq(change.expected_version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_events(&txn, id, &change.events).await?;
        if let Some(decided_at) = change.judges_flags {
            judge_flags(&txn, id, decided_at).await?;
        }
        if let Some(answer) = &change.response {
            let row = response::ActiveModel {
                comment_id: Set(id.get()),
                body: Set(answer.body.clone()),
                unit_code: Set(answer.unit.as_str().to_owned()),
                author_id: Set(answer.author.get()),
                created_at: Set(answer.at),
                ..Default::default()
            };
            response::Entity::insert(row).exec_without_returning(&txn).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    async fn try_insert(&self, new: &NewComment, admit: &dyn Admit) -> Result<Option<Comment>, Refusal> {
        let _write = self.db.write_guard().await;
        let txn = self.db.conn().begin().await?;
        let row = comment::ActiveModel {
            tracking_code: Set(new.tracking_code.as_str().to_owned()),
            body: Set(new.body.as_str().to_owned()),
            category_code: Set(new.category_code.clone()),
            commune_code: Set(new.commune_code.as_str().to_owned()),
            village_code: Set(unit(new.village_code.as_ref())),
            status: Set(CommentStatus::Pending.as_str().to_owned()),
            assigned_unit: Set(None),
            is_public: Set(new.is_public),
            author_id: Set(new.author.get()),
            client_id: Set(new.client_id.clone()),
            gender: Set(new.gender.map(|g| g.as_str().to_owned())),
            age_group: Set(new.age_group.map(|a| a.as_str().to_owned())),
            created_at: Set(new.at),
            ratings: Set(0),
            satisfied_ratings: Set(0),
            reopen_count: Set(0),
            support_count: Set(0),
            escalated_levels: Set(0),
            hidden: Set(false),
            version: Set(1),
            ..Default::default()
        };
        // Concurrent retries with one clientId: the first insert wins, the others wait
        // for it on the unique index and then do nothing.
        let inserted = comment::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([comment::Column::AuthorId, comment::Column::ClientId])
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_with_returning(&txn)
            .await;
        // With RETURNING, a skipped row shows up as "not found" rather than "conflicted".
        let model = match inserted {
            Ok(TryInsertResult::Inserted(model)) => model,
            Ok(TryInsertResult::Conflicted | TryInsertResult::Empty) | Err(DbErr::RecordNotFound(_)) => {
                txn.rollback().await?;
                return Ok(None);
            }
            Err(err) => return Err(Refusal::Db(err)),
        };
        let submitted = NewEvent {
            kind: EventKind::Submitted,
            at: new.at,
            unit: Some(new.commune_code.clone()),
            from_unit: None,
            actor: None,
            note: None,
        };
        insert_events(&txn, CommentId::new(model.id), &[submitted]).await?;
        // Durable before anything reaches Redis: the relay moves it to the queue later.
        let relay = outbox::ActiveModel {
            topic: Set(crate::outbox::MODERATION.to_owned()),
            comment_id: Set(model.id),
            created_at: Set(new.at),
            ..Default::default()
        };
        outbox::Entity::insert(relay).exec_without_returning(&txn).await?;
        // Only a comment that is really new counts against the limits; retries of it
        // waited on the unique index above and found it.
        if let Err(refused) = admit.admit().await {
            txn.rollback().await?;
            return Err(Refusal::Domain(refused));
        }
        txn.commit().await?;
        convert::comment(model).map(Some).map_err(Refusal::Domain)
    }
}

#[async_trait]
impl Comments for SqlStore {
    async fn insert(&self, new: NewComment, admit: Arc<dyn Admit>) -> DomainResult<Inserted> {
        let store = self.clone();
        let attempt = new.clone();
        let inserted = detached(async move { store.try_insert(&attempt, admit.as_ref()).await }).await;
        match inserted {
            Ok(Some(comment)) => Ok(Inserted::Created(comment)),
            Ok(None) => {
                let client_id = new.client_id.as_deref().unwrap_or_default();
                let existing = self.find_by_client_id(new.author, client_id).await?;
                existing
                    .map(Inserted::Existing)
                    .ok_or_else(|| DomainError::Internal("comment conflicted but is not there".into()))
            }
            Err(Refusal::Db(err)) if is_unique_violation(&err) => Ok(Inserted::TrackingCodeTaken),
            Err(Refusal::Db(err)) => Err(db_error(err)),
            Err(Refusal::Domain(err)) => Err(err),
        }
    }

    async fn apply(&self, change: CommentChange) -> DomainResult<Comment> {
        let store = self.clone();
        let written = change.clone();
        let applied = detached(async move { store.write_change(&written).await }).await;
        if !applied.map_err(db_error)? {
            return Err(DomainError::conflict(
                "the comment was changed by someone else meanwhile; reload it and try again",
            ));
        }
        let mut after = change.comment;
        after.version += 1;
        Ok(after)
    }

    async fn get_many(&self, ids: &[CommentId]) -> DomainResult<Vec<Comment>> {
        self.comments_by_id(ids).await
    }

    async fn by_client_id(&self, author: CitizenId, client_id: &str) -> DomainResult<Option<Comment>> {
        self.find_by_client_id(author, client_id).await
    }

    async fn by_tracking_code(&self, code: &TrackingCode) -> DomainResult<Option<Comment>> {
        let row = comment::Entity::find()
            .filter(comment::Column::TrackingCode.eq(code.as_str()))
            .one(self.db.conn())
            .await
            .map_err(db_error)?;
        row.map(convert::comment).transpose()
    }

    async fn page(&self, query: &CommentQuery, page: PageRequest) -> DomainResult<Page> {
        self.comment_page(query, page).await
    }

    async fn count(&self, query: &CommentQuery) -> DomainResult<u64> {
        self.comment_count(query).await
    }

    async fn pending(&self, limit: u64) -> DomainResult<Vec<Comment>> {
        self.pending_comments(limit).await
    }

    async fn escalation_candidates(&self, now: DateTime<Utc>, limit: u64) -> DomainResult<Vec<Comment>> {
        self.overdue_below_province(now, limit).await
    }

    async fn responses(&self, ids: &[CommentId]) -> DomainResult<Vec<Response>> {
        self.responses_of(ids).await
    }

    async fn public_events(
        &self,
        kinds: &[EventKind],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> DomainResult<Vec<CommentEvent>> {
        self.public_events_in(kinds, from, to, limit).await
    }

    async fn events(&self, ids: &[CommentId]) -> DomainResult<Vec<CommentEvent>> {
        self.events_of(ids).await
    }

    async fn support(&self, id: CommentId, citizen: CitizenId, at: DateTime<Utc>) -> DomainResult<Comment> {
        let store = self.clone();
        let result: Result<(), DbErr> = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            let row = support::ActiveModel {
                comment_id: Set(id.get()),
                citizen_id: Set(citizen.get()),
                created_at: Set(at),
            };
            let inserted = support::Entity::insert(row)
                .on_conflict_do_nothing()
                .exec_without_returning(&txn)
                .await?;
            if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
                comment::Entity::update_many()
                    .col_expr(
                        comment::Column::SupportCount,
                        Expr::col(comment::Column::SupportCount).add(1),
                    )
                    .filter(comment::Column::Id.eq(id.get()))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await
        })
        .await;
        result.map_err(db_error)?;
        self.comments_by_id(&[id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DomainError::NotFound("comment".into()))
    }

    async fn flag(&self, new: NewFlag) -> DomainResult<bool> {
        let id = new.comment;
        let store = self.clone();
        let result: Result<bool, DbErr> = detached(async move {
            let _write = store.db.write_guard().await;
            let txn = store.db.conn().begin().await?;
            if store.db.backend() == sea_orm::DbBackend::Postgres {
                // Concurrent flags of one comment queue here, so each counts the others
                // and the one that reaches the threshold hides it.
                comment::Entity::find_by_id(id.get()).lock_exclusive().one(&txn).await?;
            }
            let row = flag::ActiveModel {
                comment_id: Set(id.get()),
                citizen_id: Set(new.citizen.get()),
                reason: Set(new.reason.clone()),
                created_at: Set(new.at),
                address_digest: Set(new.address.clone()),
                judged_at: Set(None),
            };
            // A session flags a comment once, also after a moderator judged its flag.
            let inserted = flag::Entity::insert(row)
                .on_conflict_do_nothing()
                .exec_without_returning(&txn)
                .await?;
            let is_new = matches!(inserted, TryInsertResult::Inserted(n) if n > 0);
            if is_new {
                let flagged = NewEvent {
                    note: Some(new.reason.clone()),
                    ..flagged_event(new.at)
                };
                insert_events(&txn, id, &[flagged]).await?;
                let tally = unjudged_flags(&txn, id).await?;
                if tally.hides() {
                    // Hidden once, by the flag that reached the threshold; back to the
                    // moderators through the outbox like a new submission.
                    let hidden = comment::Entity::update_many()
                        .col_expr(comment::Column::Hidden, Expr::value(true))
                        .col_expr(comment::Column::Version, Expr::col(comment::Column::Version).add(1))
                        .filter(comment::Column::Id.eq(id.get()))
                        .filter(comment::Column::Hidden.eq(false))
                        .exec(&txn)
                        .await?;
                    if hidden.rows_affected == 1 {
                        let event = NewEvent {
                            kind: EventKind::Hidden,
                            note: Some(format!("{} flags from {} addresses", tally.sessions, tally.addresses)),
                            ..flagged_event(new.at)
                        };
                        insert_events(&txn, id, &[event]).await?;
                        let relay = outbox::ActiveModel {
                            topic: Set(crate::outbox::MODERATION.to_owned()),
                            comment_id: Set(id.get()),
                            created_at: Set(new.at),
                            ..Default::default()
                        };
                        outbox::Entity::insert(relay).exec_without_returning(&txn).await?;
                    }
                }
            }
            txn.commit().await?;
            Ok(is_new)
        })
        .await;
        result.map_err(db_error)
    }
}
