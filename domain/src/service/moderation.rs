//! What moderators do: take the oldest pending comments, approve (routing them) or reject.

use super::Mati;
use crate::auth::{Principal, Role};
use crate::comment::CommentStatus;
use crate::comment::{Comment, CommentId};
use crate::lifecycle::{self, Actor};
use crate::routing;
use crate::text;
use crate::{DomainError, DomainResult};

/// Why a comment is rejected or flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Advertising or nonsense.
    Spam,
    /// Insults, threats, hate.
    Abusive,
    /// Exposes someone's personal data.
    PersonalData,
    /// Already sent.
    Duplicate,
    /// Not a matter for a sub-national administration.
    OffTopic,
    /// Explained in the note.
    Other,
}

impl RejectReason {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "SPAM",
            Self::Abusive => "ABUSIVE",
            Self::PersonalData => "PERSONAL_DATA",
            Self::Duplicate => "DUPLICATE",
            Self::OffTopic => "OFF_TOPIC",
            Self::Other => "OTHER",
        }
    }
}

/// A moderator's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Publish and route, optionally correcting the category.
    Approve {
        /// Corrected category code.
        category: Option<String>,
    },
    /// Refuse, with a reason.
    Reject {
        /// Why; required.
        reason: Option<RejectReason>,
    },
}

const MODERATORS: &[Role] = &[Role::Moderator, Role::Admin];

impl Mati {
    /// Pending comments, oldest first.
    pub async fn moderation_queue(&self, caller: &Principal, first: i64) -> DomainResult<Vec<Comment>> {
        caller.staff_with(MODERATORS)?;
        let limit = super::bounds::clamp_first(first)?;
        self.ports.comments.pending(limit).await
    }

    /// Approves or rejects a pending comment.
    pub async fn moderate(
        &self,
        caller: &Principal,
        id: CommentId,
        decision: Decision,
        note: Option<&str>,
    ) -> DomainResult<Comment> {
        let staff = caller.staff_with(MODERATORS)?;
        let note = note.map(|n| text::note("note", n)).transpose()?;
        let comment = self.comment_by_id(id).await?;
        let by = Actor {
            staff: staff.id,
            at: self.now(),
        };
        let change = match decision {
            Decision::Approve { .. } if comment.hidden => lifecycle::restore(&comment, by)?,
            Decision::Approve { category } => {
                let corrected = match category {
                    Some(code) => Some(self.category("categoryCode", &code).await?),
                    None => None,
                };
                let category = match corrected.clone() {
                    Some(category) => category,
                    None => self.category("categoryCode", &comment.category_code).await?,
                };
                let unit = routing::responsible_unit(&comment.commune_code, &category)?;
                let policy = self.policy_for(&unit, &category.code).await?;
                let mut change = lifecycle::approve(&comment, unit, corrected.map(|c| c.code), &policy, by)?;
                if let (Some(note), Some(approved)) = (note, change.events.first_mut()) {
                    // Keep the record of a corrected category next to the moderator's note.
                    approved.note = Some(match approved.note.take() {
                        Some(correction) => format!("{correction}; {note}"),
                        None => note,
                    });
                }
                change
            }
            Decision::Reject { reason: None } => {
                return Err(DomainError::invalid(
                    "reason",
                    "a rejection needs a reason",
                    "ការបដិសេធត្រូវមានហេតុផល",
                ));
            }
            Decision::Reject { reason: Some(reason) } => lifecycle::reject(&comment, reason.as_str(), note, by)?,
        };
        self.commit(change).await
    }

    /// Leases up to `count` pending comments to the calling moderator, oldest first;
    /// no other moderator gets them until the lease expires or they are decided.
    pub async fn claim_moderation_items(&self, caller: &Principal, count: i64) -> DomainResult<Vec<Comment>> {
        let staff = caller.staff_with(MODERATORS)?;
        let count = super::bounds::clamp_first(count)?;
        let ids = self.ports.queue.claim(staff.id, count).await?;
        let mut comments = self.ports.comments.get_many(&ids).await?;
        // Items decided meanwhile (or delivered twice) are dropped from the queue here.
        let waiting = |c: &Comment| c.status == CommentStatus::Pending || c.hidden;
        for stale in comments.iter().filter(|c| !waiting(c)) {
            if let Err(err) = self.ports.queue.done(stale.id).await {
                tracing::warn!(comment = %stale.id, error = %err, "stale queue item not removed");
            }
        }
        comments.retain(waiting);
        comments.sort_by_key(|c| c.id);
        Ok(comments)
    }

    /// The comment with this id, whoever asks; NOT_FOUND if none.
    pub(super) async fn comment_by_id(&self, id: CommentId) -> DomainResult<Comment> {
        self.ports
            .comments
            .get_many(&[id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DomainError::NotFound("comment".into()))
    }
}
