//! What citizens do: submit, rate, support and flag.

mod retry;

use std::sync::Arc;

use self::retry::Content;
use super::Mati;
use super::moderation::RejectReason;
use crate::auth::Principal;
use crate::comment::{AgeGroup, CitizenId, Comment, CommentId, Gender, NewComment};
use crate::flag::{self, NewFlag};
use crate::geography::AdminLevel;
use crate::lifecycle;
use crate::ports::{Admit, Inserted};
use crate::rate_limit::{Action, Origin};
use crate::text::CommentBody;
use crate::tracking::TrackingCode;
use crate::{DomainError, DomainResult};

/// A comment as a citizen's phone sends it, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The text.
    pub body: String,
    /// Category code.
    pub category_code: String,
    /// Commune or sangkat code.
    pub commune_code: String,
    /// Village code, optional.
    pub village_code: Option<String>,
    /// Public once approved?
    pub is_public: bool,
    /// Self-declared gender.
    pub gender: Option<Gender>,
    /// Self-declared age group.
    pub age_group: Option<AgeGroup>,
    /// Idempotency key chosen by the phone.
    pub client_id: Option<String>,
}

/// Attempts at a fresh tracking code before giving up; with 30^8 codes a clash is rare.
const TRACKING_CODE_ATTEMPTS: usize = 5;

impl Mati {
    /// Stores a citizen's comment as PENDING, or returns the first one sent with the same
    /// `clientId` from the same session when it says the same; a `clientId` reused for
    /// a comment that says something else is CONFLICT on `clientId`.
    pub async fn submit_comment(
        &self,
        caller: &Principal,
        origin: &Origin,
        input: Submission,
    ) -> DomainResult<Comment> {
        let author = caller.citizen()?;
        self.submit_as(author, Action::SubmitPerToken, origin, input).await
    }

    /// Stores a comment as [`Mati::submit_comment`] does, for `author`, counted against
    /// `limit` (per author) and the per-address limit.
    pub(super) async fn submit_as(
        &self,
        author: CitizenId,
        limit: Action,
        origin: &Origin,
        input: Submission,
    ) -> DomainResult<Comment> {
        let client_id = input.client_id.as_deref().map(client_id).transpose()?;
        // A retry is not a new comment: it neither counts against the limits nor is
        // validated again, so a phone on a flaky network always gets its answer.
        if let Some(client_id) = &client_id
            && let Some(first) = self.ports.comments.by_client_id(author, client_id).await?
        {
            return self.retried(first, &Content::sent(&input)).await;
        }
        let body = CommentBody::parse("body", &input.body)?;
        let category = self.category("categoryCode", &input.category_code).await?;
        let commune = self
            .unit_at("communeCode", &input.commune_code, AdminLevel::Commune)
            .await?;
        let village = match input.village_code.as_deref() {
            Some(raw) => {
                let village = self.unit_at("villageCode", raw, AdminLevel::Village).await?;
                if !village.is_within(&commune) {
                    return Err(DomainError::invalid(
                        "villageCode",
                        "the village is not in the given commune",
                        "ភូមិនេះមិនស្ថិតនៅក្នុងឃុំសង្កាត់នេះទេ",
                    ));
                }
                Some(village)
            }
            None => None,
        };
        let mut new = NewComment {
            tracking_code: TrackingCode::generate(&mut rand::rng()),
            body,
            category_code: category.code,
            commune_code: commune,
            village_code: village,
            is_public: input.is_public,
            author,
            client_id,
            gender: input.gender,
            age_group: input.age_group,
            at: self.now(),
        };
        for _ in 0..TRACKING_CODE_ATTEMPTS {
            let limits = Arc::new(SubmitLimits {
                mati: self.clone(),
                limit,
                token: author.to_string(),
                address: origin.address_key(),
            });
            match self.ports.comments.insert(new.clone(), limits).await? {
                Inserted::Created(comment) => return Ok(comment),
                // A concurrent retry stored it first.
                Inserted::Existing(first) => return self.retried(first, &Content::new(&new)).await,
                Inserted::TrackingCodeTaken => {
                    new.tracking_code = TrackingCode::generate(&mut rand::rng());
                }
            }
        }
        Err(DomainError::Internal(
            "no free tracking code after several attempts".into(),
        ))
    }

    /// The first comment sent with a `clientId`, for a retry that says the same.
    async fn retried(&self, first: Comment, retry: &Content) -> DomainResult<Comment> {
        let mut differences = Content::stored(&first).differences(retry);
        // A moderator may have corrected the category since; the phone still retries with
        // the one it sent, which is not on record any more.
        if differences.contains(&"categoryCode") {
            let events = self.ports.comments.events(&[first.id]).await?;
            if events.iter().any(|e| lifecycle::corrects_category(&e.event)) {
                differences.retain(|field| *field != "categoryCode");
            }
        }
        if differences.is_empty() {
            Ok(first)
        } else {
            Err(retry::reused(&differences))
        }
    }

    /// The author rates the resolution of the comment with this tracking code.
    pub async fn rate_resolution(
        &self,
        caller: &Principal,
        tracking_code: &str,
        satisfied: bool,
    ) -> DomainResult<Comment> {
        let citizen = caller.citizen()?;
        let code = TrackingCode::parse("trackingCode", tracking_code)?;
        let comment = self
            .ports
            .comments
            .by_tracking_code(&code)
            .await?
            .filter(|c| c.author == citizen)
            .ok_or_else(|| DomainError::NotFound("comment".into()))?;
        let change = lifecycle::rate(&comment, satisfied, self.now())?;
        self.commit(change).await
    }

    /// A citizen supports ("me too") a published public comment; once per session.
    pub async fn support_comment(&self, caller: &Principal, id: CommentId) -> DomainResult<Comment> {
        let citizen = caller.citizen()?;
        self.limit(Action::Support, Some(citizen.to_string())).await?;
        let comment = self.public_comment(id).await?;
        self.ports.comments.support(comment.id, citizen, self.now()).await
    }

    /// A citizen flags a published public comment; once per session, even after a
    /// moderator judged the flag. Returns whether the flag was new. Flags hide the comment
    /// only from distinct sessions and distinct client addresses ([`crate::flag`]).
    pub async fn flag_comment(
        &self,
        caller: &Principal,
        origin: &Origin,
        id: CommentId,
        reason: RejectReason,
    ) -> DomainResult<bool> {
        let citizen = caller.citizen()?;
        self.limit(Action::Flag, Some(citizen.to_string())).await?;
        let comment = self.public_comment(id).await?;
        let flag = NewFlag {
            comment: comment.id,
            citizen,
            address: origin.address_key().map(|key| flag::address_digest(comment.id, &key)),
            reason: reason.as_str().to_owned(),
            at: self.now(),
        };
        self.ports.comments.flag(flag).await
    }

    async fn public_comment(&self, id: CommentId) -> DomainResult<Comment> {
        self.ports
            .comments
            .get_many(&[id])
            .await?
            .into_iter()
            .find(|c| c.is_public && c.status.is_published() && !c.hidden)
            .ok_or_else(|| DomainError::NotFound("comment".into()))
    }
}

/// The limits a new comment counts against, checked once it is known to be new (owned:
/// the store may check them on a task of its own).
struct SubmitLimits {
    mati: Mati,
    /// The limit per author.
    limit: Action,
    token: String,
    address: Option<String>,
}

#[async_trait::async_trait]
impl Admit for SubmitLimits {
    async fn admit(&self) -> DomainResult<()> {
        self.mati.limit(self.limit, Some(self.token.clone())).await?;
        self.mati.limit(Action::SubmitPerAddress, self.address.clone()).await
    }
}

/// A phone's idempotency key: 1 to 64 visible ASCII characters.
fn client_id(raw: &str) -> DomainResult<String> {
    let valid = (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid(
            "clientId",
            "must be 1 to 64 visible ASCII characters",
            "លេខសម្គាល់មិនត្រឹមត្រូវ",
        ))
    }
}
