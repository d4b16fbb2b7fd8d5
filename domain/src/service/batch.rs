//! Batch reads for loaders: what relates to many units or comments in one call, so that
//! a page costs one statement per kind of related data. They return what relates to
//! objects the caller was already allowed to see; visibility is decided where those
//! objects were read.

use super::Mati;
use crate::DomainResult;
use crate::comment::{CommentEvent, CommentId, Response};
use crate::geography::{AdminUnit, UnitCode};

impl Mati {
    /// The units with these codes (unknown codes are left out).
    pub async fn units(&self, codes: &[UnitCode]) -> DomainResult<Vec<AdminUnit>> {
        self.ports.geography.units(codes).await
    }

    /// The children of these units.
    pub async fn children_of(&self, parents: &[UnitCode]) -> DomainResult<Vec<AdminUnit>> {
        self.ports.geography.children(parents).await
    }

    /// The responses of these comments.
    pub async fn responses_of(&self, ids: &[CommentId]) -> DomainResult<Vec<Response>> {
        self.ports.comments.responses(ids).await
    }

    /// The events of these comments.
    pub async fn events_of(&self, ids: &[CommentId]) -> DomainResult<Vec<CommentEvent>> {
        self.ports.comments.events(ids).await
    }
}
