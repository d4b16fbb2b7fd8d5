//! `Comment`, its `Response`s and `CommentEvent`s.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use mati_domain::auth::Principal;
use mati_domain::comment::{Comment as DomainComment, CommentEvent as DomainEvent, Response as DomainResponse};
use mati_domain::geography::UnitCode;
use mati_domain::privacy::{self, Reading};
use mati_domain::service::Mati;
use mati_domain::{DomainError, deadline};

use super::enums::CommentStatus;
use super::unit::{AdminUnit, Category, load_unit};
use crate::graphql::error::ToGraphql;
use crate::graphql::loaders::Loaders;

/// A comment as one viewer may see it.
pub struct Comment {
    comment: DomainComment,
    /// How the viewer reads the body, the responses and the notes (the domain decides).
    reading: Reading,
    /// The text is not for this viewer at all (a private or unapproved comment looked
    /// up by its tracking code): it reads as empty.
    withheld: bool,
}

impl Comment {
    /// The comment as `viewer` sees it.
    pub fn for_viewer(comment: DomainComment, viewer: &Principal) -> Self {
        let reading = Reading::of(viewer, &comment);
        Self {
            comment,
            reading,
            withheld: false,
        }
    }

    /// The comment as someone holding its tracking code sees it: status, responses and
    /// events always; the text only when the viewer may read the comment itself.
    pub fn by_tracking_code(comment: DomainComment, viewer: &Principal) -> Self {
        let withheld = !privacy::may_view(viewer, &comment);
        Self {
            withheld,
            ..Self::for_viewer(comment, viewer)
        }
    }
}

async fn unit(ctx: &Context<'_>, code: &UnitCode) -> async_graphql::Result<AdminUnit> {
    let loaders = ctx.data::<Loaders>()?;
    let unit = loaders.units.load_one(code.clone()).await.gql()?;
    unit.map(AdminUnit).ok_or_else(|| {
        crate::graphql::error::to_graphql(DomainError::Internal(format!("unit {code} is not in the gazetteer")))
    })
}

async fn optional_unit(ctx: &Context<'_>, code: Option<&UnitCode>) -> async_graphql::Result<Option<AdminUnit>> {
    load_unit(ctx, code.cloned()).await
}

#[Object]
impl Comment {
    /// Identity.
    async fn id(&self) -> ID {
        ID(self.comment.id.to_string())
    }

    /// What the citizen writes down to follow it, e.g. `KH7F3K2Q`.
    async fn tracking_code(&self) -> &str {
        self.comment.tracking_code.as_str()
    }

    /// The text; phone and ID-card numbers are redacted for the public.
    async fn body(&self) -> String {
        if self.withheld {
            String::new()
        } else {
            self.reading.text(&self.comment.body).into_owned()
        }
    }

    /// Its category.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Category> {
        let loaders = ctx.data::<Loaders>()?;
        let code = &self.comment.category_code;
        let category = loaders.categories.load_one(code.clone()).await.gql()?;
        category.map(Category).ok_or_else(|| {
            crate::graphql::error::to_graphql(DomainError::Internal(format!("category {code} is missing")))
        })
    }

    /// The commune the citizen tagged.
    async fn commune(&self, ctx: &Context<'_>) -> async_graphql::Result<AdminUnit> {
        unit(ctx, &self.comment.commune_code).await
    }

    /// The village, if tagged.
    async fn village(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        optional_unit(ctx, self.comment.village_code.as_ref()).await
    }

    /// Where it is in its life.
    async fn status(&self) -> CommentStatus {
        self.comment.status.into()
    }

    /// The administration that must answer, once routed.
    async fn assigned_unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        optional_unit(ctx, self.comment.assigned_unit.as_ref()).await
    }

    /// Whether anyone may read it once approved.
    async fn is_public(&self) -> bool {
        self.comment.is_public
    }

    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.comment.created_at
    }

    /// When a moderator approved and routed it.
    async fn routed_at(&self) -> Option<DateTime<Utc>> {
        self.comment.routed_at
    }

    /// Deadline for the first response.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.comment.due_at
    }

    /// Deadline for the acknowledgement.
    async fn acknowledge_due_at(&self) -> Option<DateTime<Utc>> {
        self.comment.ack_due_at
    }

    /// When the unit first acknowledged it.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.comment.acknowledged_at
    }

    /// When the unit first answered.
    async fn first_response_at(&self) -> Option<DateTime<Utc>> {
        self.comment.first_response_at
    }

    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.comment.resolved_at
    }

    /// Past its first-response deadline without a response.
    async fn is_overdue(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let now = ctx.data::<Mati>()?.now();
        Ok(deadline::is_overdue(&self.comment, now))
    }

    /// Citizens who support it.
    async fn support_count(&self) -> i32 {
        self.comment.support_count
    }

    /// The citizen's rating of the resolution.
    async fn satisfied(&self) -> Option<bool> {
        self.comment.satisfied
    }

    /// Times the citizen reopened it (at most once).
    async fn reopen_count(&self) -> i32 {
        self.comment.reopen_count
    }

    /// Public answers, oldest first.
    async fn responses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Response>> {
        let loaders = ctx.data::<Loaders>()?;
        let responses = loaders.responses.load_one(self.comment.id).await.gql()?;
        let reading = self.reading;
        Ok(responses
            .unwrap_or_default()
            .into_iter()
            .map(|response| Response { response, reading })
            .collect())
    }

    /// Everything that happened to it, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CommentEvent>> {
        let loaders = ctx.data::<Loaders>()?;
        let events = loaders.events.load_one(self.comment.id).await.gql()?;
        let reading = self.reading;
        Ok(events
            .unwrap_or_default()
            .into_iter()
            .map(|event| CommentEvent { event, reading })
            .collect())
    }
}

/// A public answer from an administration, as one viewer reads it.
pub struct Response {
    response: DomainResponse,
    /// As for the comment's body.
    reading: Reading,
}

#[Object]
impl Response {
    /// Identity.
    async fn id(&self) -> ID {
        ID(self.response.id.to_string())
    }

    /// The answer; phone and ID-card numbers are redacted for the public, as in the
    /// comment's body.
    async fn body(&self) -> String {
        self.reading.text(&self.response.body).into_owned()
    }

    /// The answering administration.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<AdminUnit> {
        unit(ctx, &self.response.unit).await
    }

    /// When.
    async fn created_at(&self) -> DateTime<Utc> {
        self.response.created_at
    }
}

/// One step in a comment's life, as one viewer reads it.
pub struct CommentEvent {
    event: DomainEvent,
    /// As for the comment's body.
    reading: Reading,
}

#[Object]
impl CommentEvent {
    /// SUBMITTED APPROVED REJECTED ROUTED ACKNOWLEDGED RESPONDED REFERRED ESCALATED
    /// RESOLVED RATED REOPENED FLAGGED
    async fn kind(&self) -> &str {
        self.event.event.kind.as_str()
    }

    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.event.event.at
    }

    /// The unit concerned (the new one for a referral or escalation).
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        optional_unit(ctx, self.event.event.unit.as_ref()).await
    }

    /// The unit a referral or escalation moved it away from.
    #[graphql(name = "fromUnit")]
    async fn moved_from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AdminUnit>> {
        optional_unit(ctx, self.event.event.from_unit.as_ref()).await
    }

    /// Public note or reason; phone and ID-card numbers are redacted for the public, as
    /// in the comment's body.
    async fn note(&self) -> Option<String> {
        let note = self.event.event.note.as_deref()?;
        Some(self.reading.text(note).into_owned())
    }
}
