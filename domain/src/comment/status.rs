//! Where a comment is in its life (PRODUCT.md §4); the transitions between the
//! statuses are in [`crate::lifecycle`].

/// Where a comment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentStatus {
    /// Waiting for moderation; not public, not routed.
    Pending,
    /// Refused by a moderator.
    Rejected,
    /// Assigned to a unit, waiting for it.
    Routed,
    /// The unit has seen it.
    Acknowledged,
    /// The unit has answered.
    Responded,
    /// Closed with a public note.
    Resolved,
}

impl CommentStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Rejected => "REJECTED",
            Self::Routed => "ROUTED",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Responded => "RESPONDED",
            Self::Resolved => "RESOLVED",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Rejected,
            Self::Routed,
            Self::Acknowledged,
            Self::Responded,
            Self::Resolved,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// Approved and visible to the public (when the comment is public).
    pub const fn is_published(self) -> bool {
        !matches!(self, Self::Pending | Self::Rejected)
    }
}
