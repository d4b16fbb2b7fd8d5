//! What Open311 GeoReport v2 clients do — list published comments as service requests,
//! follow their updates, post comments with an application's key — on the same rules as
//! GraphQL: the same visibility, redaction, validation, idempotency and limits. The
//! protocol itself (formats, parameters, status names) is the API's.

use chrono::{DateTime, Utc};

use super::Mati;
use super::submission::Submission;
use crate::auth::{self, ApiKey, Principal, Role, TokenKind};
use crate::comment::{Comment, CommentEvent, CommentId, CommentStatus, EventKind};
use crate::ports::{CommentQuery, PageRequest};
use crate::privacy::Reading;
use crate::rate_limit::{Action, Origin};
use crate::text;
use crate::tracking::TrackingCode;
use crate::{DomainError, DomainResult};

/// Most comments in one page of a listing of requests.
pub const MAX_REQUESTS_PAGE: u64 = 1000;

/// Most updates in one answer of the feed of updates.
pub const MAX_UPDATES: u64 = 1000;

/// The events that are public updates of a published comment: what happened to it in
/// the open. Submission and approval happen before it is public (its `requested`
/// time says when it was sent); flags, hiding and ratings are between the citizen, the
/// moderators and the statistics.
pub const PUBLIC_UPDATES: [EventKind; 7] = [
    EventKind::Routed,
    EventKind::Acknowledged,
    EventKind::Responded,
    EventKind::Referred,
    EventKind::Escalated,
    EventKind::Resolved,
    EventKind::Reopened,
];

/// Which published comments a listing of requests holds. Every condition holds at
/// once; an empty list or `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestQuery {
    /// Only these comments.
    pub ids: Vec<CommentId>,
    /// Only these categories.
    pub categories: Vec<String>,
    /// Only these statuses (published ones only, whatever is asked).
    pub statuses: Vec<CommentStatus>,
    /// Sent at or after.
    pub sent_from: Option<DateTime<Utc>>,
    /// Sent before.
    pub sent_before: Option<DateTime<Utc>>,
    /// With an event at or after.
    pub updated_from: Option<DateTime<Utc>>,
    /// With every event before.
    pub updated_before: Option<DateTime<Utc>>,
    /// The 1-based page.
    pub page: u64,
    /// Comments per page, at most [`MAX_REQUESTS_PAGE`].
    pub page_size: u64,
}

/// One public update of a published comment.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicUpdate {
    /// What happened.
    pub event: CommentEvent,
    /// The comment, as it is now.
    pub comment: Comment,
    /// What the public reads about it: the answer of a response, the note of a
    /// resolution, referral or escalation; redacted like every public text.
    pub description: Option<String>,
}

impl Mati {
    /// A page of published public comments, newest first, as the public sees them.
    pub async fn published_comments(&self, query: RequestQuery) -> DomainResult<Vec<Comment>> {
        let page_size = query.page_size.clamp(1, MAX_REQUESTS_PAGE);
        let skip = query.page.max(1).saturating_sub(1).saturating_mul(page_size);
        let listing = CommentQuery {
            ids: query.ids,
            categories: query.categories,
            statuses: query.statuses,
            created_from: query.sent_from,
            created_before: query.sent_before,
            updated_from: query.updated_from,
            updated_before: query.updated_before,
            ..CommentQuery::default()
        };
        let page = PageRequest {
            first: page_size,
            after: None,
            skip,
        };
        Ok(self.ports.comments.page(&listing, page).await?.items)
    }

    /// The public updates in [`from`, `to`), oldest first, at most [`MAX_UPDATES`].
    pub async fn public_updates(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> DomainResult<Vec<PublicUpdate>> {
        let events = self
            .ports
            .comments
            .public_events(&PUBLIC_UPDATES, from, to, MAX_UPDATES)
            .await?;
        let mut ids: Vec<CommentId> = events.iter().map(|e| e.comment_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let comments = self.ports.comments.get_many(&ids).await?;
        let responses = self.ports.comments.responses(&ids).await?;
        let mut updates = Vec::with_capacity(events.len());
        for event in events {
            let Some(comment) = comments.iter().find(|c| c.id == event.comment_id) else {
                continue;
            };
            let reading = Reading::of(&Principal::Anonymous, comment);
            let text = if event.event.kind == EventKind::Responded {
                // The answer given with this event: stored at the same moment.
                responses
                    .iter()
                    .rfind(|r| r.comment_id == comment.id && r.created_at <= event.event.at)
                    .map(|r| r.body.as_str())
            } else {
                event.event.note.as_deref()
            };
            updates.push(PublicUpdate {
                description: text.map(|t| reading.text(t).into_owned()),
                comment: comment.clone(),
                event,
            });
        }
        Ok(updates)
    }

    /// The comment an Open311 token stands for (its tracking code), whatever its status:
    /// the token is the credential, counted like a tracking-code lookup. A malformed
    /// token is simply unknown.
    pub async fn comment_by_token(&self, token: &str, origin: &Origin) -> DomainResult<Option<Comment>> {
        self.limit(Action::TrackPerAddress, origin.address_key()).await?;
        match TrackingCode::parse("token", token) {
            Ok(code) => self.ports.comments.by_tracking_code(&code).await,
            Err(_) => Ok(None),
        }
    }

    /// The application holding `key`: a key issued and not revoked. Anything else is
    /// FORBIDDEN, the same answer whatever was wrong.
    pub async fn api_client(&self, key: Option<&str>) -> DomainResult<ApiKey> {
        let refused = || DomainError::forbidden("a valid api_key is needed");
        let key = key
            .filter(|k| TokenKind::of(k) == Some(TokenKind::ApiKey))
            .ok_or_else(refused)?;
        let found = self.ports.accounts.api_key_by_digest(&auth::token_digest(key)).await?;
        found.filter(|k| k.revoked_at.is_none()).ok_or_else(refused)
    }

    /// Stores a comment posted by an application, as a citizen's submission is stored,
    /// counted against the application's own limit instead of a phone's.
    pub async fn submit_as_client(&self, client: &ApiKey, origin: &Origin, input: Submission) -> DomainResult<Comment> {
        self.submit_as(client.citizen, Action::SubmitPerApiKey, origin, input)
            .await
    }

    /// Issues a key for an application (admins only); the key itself is shown once,
    /// only its digest is kept.
    pub async fn issue_api_key(&self, caller: &Principal, name: &str) -> DomainResult<(ApiKey, String)> {
        let admin = caller.staff_with(&[Role::Admin])?;
        let name = text::bounded("name", name, 1, 100)?;
        let issued = auth::issue_token(TokenKind::ApiKey, &mut rand::rng());
        let key = self
            .ports
            .accounts
            .create_api_key(&name, &issued.digest, admin.id, self.now())
            .await?;
        Ok((key, issued.token))
    }

    /// Every key issued, newest first (admins only).
    pub async fn api_keys(&self, caller: &Principal) -> DomainResult<Vec<ApiKey>> {
        caller.staff_with(&[Role::Admin])?;
        self.ports.accounts.api_keys().await
    }

    /// Revokes a key at once (admins only); revoking it again changes nothing.
    pub async fn revoke_api_key(&self, caller: &Principal, id: i64) -> DomainResult<ApiKey> {
        caller.staff_with(&[Role::Admin])?;
        self.ports
            .accounts
            .revoke_api_key(id, self.now())
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("no API key {id}")))
    }
}
