//! What officials do with the comments assigned to their unit.

use super::Mati;
use crate::auth::{Principal, Role};
use crate::comment::{Comment, CommentId};
use crate::lifecycle::{self, Actor};
use crate::{DomainError, DomainResult, routing, text};

impl Mati {
    /// Acknowledges a routed comment.
    pub async fn acknowledge(&self, caller: &Principal, id: CommentId) -> DomainResult<Comment> {
        let (comment, by) = self.assigned(caller, id).await?;
        self.commit(lifecycle::acknowledge(&comment, by)?).await
    }

    /// Answers publicly.
    pub async fn respond(&self, caller: &Principal, id: CommentId, body: &str) -> DomainResult<Comment> {
        // Who asks comes before what they sent: others learn nothing from validation.
        let (comment, by) = self.assigned(caller, id).await?;
        let body = text::note("body", body)?;
        self.commit(lifecycle::respond(&comment, body, by)?).await
    }

    /// Refers the comment to another administration containing its commune.
    pub async fn refer(&self, caller: &Principal, id: CommentId, to: &str, reason: &str) -> DomainResult<Comment> {
        let (comment, by) = self.assigned(caller, id).await?;
        let reason = text::note("reason", reason)?;
        let to = self.administration("toUnitCode", to).await?;
        routing::check_referral_target(&comment.commune_code, &to)?;
        let policy = self.policy_for(&to, &comment.category_code).await?;
        let change = lifecycle::refer(&comment, to, reason, &policy, by)?;
        self.commit(change).await
    }

    /// Resolves an answered comment with a public note.
    pub async fn resolve(&self, caller: &Principal, id: CommentId, note: &str) -> DomainResult<Comment> {
        let (comment, by) = self.assigned(caller, id).await?;
        let note = text::note("note", note)?;
        self.commit(lifecycle::resolve(&comment, note, by)?).await
    }

    /// The comment, if the caller is an official of the unit it is assigned to.
    async fn assigned(&self, caller: &Principal, id: CommentId) -> DomainResult<(Comment, Actor)> {
        let staff = caller.staff_with(&[Role::Official])?;
        let comment = self.comment_by_id(id).await?;
        let ours = staff.unit.is_some() && comment.assigned_unit == staff.unit;
        if !ours {
            return Err(DomainError::forbidden(
                "this comment is not assigned to your administration",
            ));
        }
        Ok((
            comment,
            Actor {
                staff: staff.id,
                at: self.now(),
            },
        ))
    }
}
