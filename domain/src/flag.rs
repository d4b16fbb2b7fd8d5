//! Citizens' flags on published comments, and when they hide one until a moderator
//! decides. Citizen sessions cost nothing, so flags count only from distinct sessions
//! AND distinct client addresses; and a moderator's decision judges the flags it saw:
//! they are kept, so their sessions cannot flag again, but never count again.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::comment::{CitizenId, CommentId};

/// Unjudged flags, from as many sessions and as many client addresses, that hide a
/// published comment until a moderator decides.
pub const FLAGS_TO_HIDE: u64 = 3;

/// A citizen's flag, to be stored once per session and comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFlag {
    /// The flagged comment.
    pub comment: CommentId,
    /// The citizen session.
    pub citizen: CitizenId,
    /// The client address, as [`address_digest`] stores it; none when unknown.
    pub address: Option<String>,
    /// Why (a reject reason's name).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The flags of a comment that no moderator has judged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagTally {
    /// Sessions that flagged it (each flags a comment once).
    pub sessions: u64,
    /// Distinct client addresses among them; a flag from an unknown address adds none.
    pub addresses: u64,
}

impl FlagTally {
    /// Whether these flags hide the comment.
    pub const fn hides(self) -> bool {
        self.sessions >= FLAGS_TO_HIDE && self.addresses >= FLAGS_TO_HIDE
    }
}

/// How a flag's client address is stored: a digest of the comment and the address's
/// rate-limit key ([`crate::rate_limit::Origin::address_key`], an IPv6 client counted by
/// its /64). Two flags of one comment from one address are equal; the address itself is
/// not kept, and flags of different comments cannot be joined by it.
pub fn address_digest(comment: CommentId, address_key: &str) -> String {
    Sha256::digest(format!("{comment}/{address_key}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_sessions_hide_only_from_three_addresses() {
        let tally = |sessions, addresses| FlagTally { sessions, addresses }.hides();
        assert!(tally(3, 3));
        assert!(tally(7, 3));
        assert!(!tally(3, 1), "three sessions behind one address");
        assert!(!tally(9, 2));
        assert!(!tally(2, 2));
    }

    #[test]
    fn an_address_is_the_same_within_a_comment_and_unlinkable_across_comments() {
        assert_eq!(
            address_digest(CommentId::new(7), "203.0.113.5"),
            address_digest(CommentId::new(7), "203.0.113.5")
        );
        assert_ne!(
            address_digest(CommentId::new(7), "203.0.113.5"),
            address_digest(CommentId::new(7), "203.0.113.6")
        );
        assert_ne!(
            address_digest(CommentId::new(7), "203.0.113.5"),
            address_digest(CommentId::new(8), "203.0.113.5")
        );
        assert!(!address_digest(CommentId::new(7), "203.0.113.5").contains("203.0.113.5"));
    }
}
